-- What in the order lines does not fit the item-revenue definition (doc block item_revenue),
-- counted over the purchases the product marts read (intermediate.int_order_lines: consenting
-- users, up to the data cutoff). Nothing is dropped: each issue says how the marts handle it.
-- One row per issue, zeros included, so an empty issue is visible as 0.
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

orders as (
    select
        order_id,
        max(order_amount) as order_amount,
        max(order_revenue) as order_revenue,
        sum(line_gross) as order_gross,
        max(case when has_lines then 1 else 0 end) as has_lines
    from order_lines
    group by order_id
),

product_categories as (
    select
        product_id,
        count(distinct line_category) as categories,
        sum(line_revenue) as revenue
    from order_lines
    where has_lines
    group by product_id
),

issues as (
    select
        'purchase without lines' as issue,
        'purchases' as counted,
        sum(case when has_lines = 0 then 1 else 0 end) as affected,
        sum(case when has_lines = 0 then order_revenue else 0 end) as revenue,
        'its revenue counts as product and category unknown, with 0 units' as handling
    from orders

    union all

    select
        'lines gross differs from amount' as issue,
        'purchases' as counted,
        sum(case when has_lines = 1 and abs(order_gross - order_amount) > 0.01 then 1 else 0 end)
            as affected,
        sum(
            case
                when has_lines = 1 and abs(order_gross - order_amount) > 0.01
                    then order_revenue
                else 0
            end
        ) as revenue,
        'the revenue (amount - discount) is split over the lines in proportion to their gross'
            as handling
    from orders

    union all

    select
        'lines gross is zero' as issue,
        'purchases' as counted,
        sum(case when has_lines = 1 and order_gross = 0 then 1 else 0 end) as affected,
        sum(case when has_lines = 1 and order_gross = 0 then order_revenue else 0 end)
            as revenue,
        'the revenue is split equally over the lines' as handling
    from orders

    union all

    select
        'product under several categories' as issue,
        'products' as counted,
        sum(case when categories > 1 then 1 else 0 end) as affected,
        sum(case when categories > 1 then revenue else 0 end) as revenue,
        'the marts use the category of the latest purchase line of the product' as handling
    from product_categories
),

final as (
    select
        cast(issue as {{ dbt.type_string() }}) as issue,
        cast(counted as {{ dbt.type_string() }}) as counted,
        cast(coalesce(affected, 0) as {{ dbt.type_bigint() }}) as affected,
        cast(coalesce(revenue, 0) as double) as revenue,
        cast(handling as {{ dbt.type_string() }}) as handling
    from issues
)

select * from final
