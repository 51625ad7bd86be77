{#- The product and category performance marts: one definition, four tables. -#}

{% macro product_performance(dimensions, by_month) -%}
    {#- Orders, units, revenue and customers per `dimensions` (product_id, category or just
        category), per UTC purchase month when `by_month`, else over all time, from
        intermediate.int_order_lines (consenting users, purchases up to the data cutoff).
        new_customers: customers whose first purchase of it is in the month (all time: every
        customer); repeat_customers: customers who bought it in the month in a purchase after
        an earlier purchase of it (all time: in 2 or more purchases). A customer can be both in
        one month. revenue_share: of all revenue of the month (all time), 'unknown' included;
        revenue_rank: rank() by revenue (to the cent, descending) within the month (all time). -#}
    {%- set keys = dimensions | join(', ') %}
    {%- set period = ['purchase_month'] if by_month else [] %}
    {%- set grain = (dimensions + period) | join(', ') %}
    {%- set partition = 'partition by sales.purchase_month' if by_month else '' %}
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

-- one row per purchase and product (or category)
purchase_items as (
    select
        {{ keys }},
        order_id,
        user_id,
        purchase_month,
        order_sequence,
        sum(quantity) as units,
        sum(line_revenue) as revenue
    from order_lines
    group by {{ keys }}, order_id, user_id, purchase_month, order_sequence
),

customer_firsts as (
    select
        {{ keys }},
        user_id,
        min(order_sequence) as first_sequence,
        count(*) as purchases
    from purchase_items
    group by {{ keys }}, user_id
),

customer_periods as (
    select
        {% for key in dimensions + period -%}
            purchase_items.{{ key }},
        {% endfor -%}
        purchase_items.user_id,
        {%- if by_month %}
        max(
            case when purchase_items.order_sequence = customer_firsts.first_sequence then 1 else 0 end
        ) as is_new,
        max(
            case when purchase_items.order_sequence > customer_firsts.first_sequence then 1 else 0 end
        ) as is_repeat
        {%- else %}
        1 as is_new,
        max(case when customer_firsts.purchases >= 2 then 1 else 0 end) as is_repeat
        {%- endif %}
    from purchase_items
    inner join customer_firsts
        on
            {% for key in dimensions -%}
                purchase_items.{{ key }} = customer_firsts.{{ key }} and
            {% endfor -%}
            purchase_items.user_id = customer_firsts.user_id
    group by
        {% for key in dimensions + period -%}
            purchase_items.{{ key }},
        {% endfor -%}
        purchase_items.user_id
),

customer_counts as (
    select
        {{ grain }},
        count(*) as customers,
        sum(is_new) as new_customers,
        sum(is_repeat) as repeat_customers
    from customer_periods
    group by {{ grain }}
),

sales as (
    select
        {{ grain }},
        count(*) as orders,
        sum(units) as units,
        sum(revenue) as revenue
    from purchase_items
    group by {{ grain }}
),

final as (
    select
        {% for key in dimensions -%}
            cast(sales.{{ key }} as {{ dbt.type_string() }}) as {{ key }},
        {% endfor -%}
        {%- if by_month %}
        sales.purchase_month as month,
        {%- endif %}
        cast(sales.orders as {{ dbt.type_bigint() }}) as orders,
        cast(sales.units as {{ dbt.type_bigint() }}) as units,
        cast(sales.revenue as double) as revenue,
        cast(customer_counts.customers as {{ dbt.type_bigint() }}) as customers,
        cast(customer_counts.new_customers as {{ dbt.type_bigint() }}) as new_customers,
        cast(customer_counts.repeat_customers as {{ dbt.type_bigint() }}) as repeat_customers,
        {{ safe_divide('sales.revenue', 'sum(sales.revenue) over (' ~ partition ~ ')') }}
            as revenue_share,
        cast(
            rank() over ({{ partition }} order by round(sales.revenue, 2) desc)
            as {{ dbt.type_bigint() }}
        ) as revenue_rank
    from sales
    inner join customer_counts
        on
            {% for key in dimensions + period -%}
                sales.{{ key }} = customer_counts.{{ key }}
                {%- if not loop.last %} and{% endif %}
            {% endfor %}
)

select * from final
{%- endmacro %}
