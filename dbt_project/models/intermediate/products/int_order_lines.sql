-- One row per order line of a purchase of a consenting user up to the data cutoff, with the
-- line's share of its order's revenue (docs: doc block item_revenue). A purchase without lines
-- gets one row of product 'unknown', category 'unknown' and 0 units that carries its whole
-- revenue, so the lines of every purchase sum to its revenue (tests/assert_order_lines_sum_to_
-- order_revenue.sql). category is the product's category (its latest purchase line up to the
-- cutoff, by created_at, order_id, line_number), line_category the line's own.
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

cutoff as (
    select data_cutoff_at from {{ ref('int_data_cutoff') }}
),

items as (
    select * from {{ ref('stg_order_items') }}
),

purchases_as_of_cutoff as (
    select purchases.*
    from purchases
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

lines as (
    select
        purchases_as_of_cutoff.order_id,
        items.line_number,
        coalesce(items.product_id, 'unknown') as product_id,
        coalesce(items.category, 'unknown') as line_category,
        items.quantity,
        items.unit_price,
        items.quantity * items.unit_price as line_gross
    from purchases_as_of_cutoff
    inner join items on purchases_as_of_cutoff.order_id = items.order_id
),

order_gross as (
    select
        order_id,
        sum(line_gross) as order_gross,
        count(*) as order_lines
    from lines
    group by order_id
),

-- the category of each product's latest purchase line (created_at, order_id, line_number)
ranked_categories as (
    select
        lines.product_id,
        lines.line_category,
        row_number() over (
            partition by lines.product_id
            order by
                purchases_as_of_cutoff.purchased_at desc,
                lines.order_id desc,
                lines.line_number desc
        ) as recency_rank
    from lines
    inner join purchases_as_of_cutoff on lines.order_id = purchases_as_of_cutoff.order_id
),

product_categories as (
    select
        product_id,
        line_category as category
    from ranked_categories
    where recency_rank = 1
),

allocated as (
    select
        lines.order_id,
        lines.line_number,
        lines.product_id,
        product_categories.category,
        lines.line_category,
        lines.quantity,
        lines.unit_price,
        lines.line_gross,
        true as has_lines,
        case
            when order_gross.order_gross = 0
                then cast(purchases_as_of_cutoff.revenue as double) / order_gross.order_lines
            else
                cast(purchases_as_of_cutoff.revenue as double)
                * cast(lines.line_gross as double)
                / cast(order_gross.order_gross as double)
        end as line_revenue
    from lines
    inner join order_gross on lines.order_id = order_gross.order_id
    inner join purchases_as_of_cutoff on lines.order_id = purchases_as_of_cutoff.order_id
    inner join product_categories on lines.product_id = product_categories.product_id
),

-- purchases without any line: their whole revenue as product 'unknown'
unmatched as (
    select
        purchases_as_of_cutoff.order_id,
        cast(null as {{ dbt.type_bigint() }}) as line_number,
        'unknown' as product_id,
        'unknown' as category,
        'unknown' as line_category,
        0 as quantity,
        cast(null as decimal(18, 2)) as unit_price,
        cast(0 as decimal(18, 2)) as line_gross,
        false as has_lines,
        cast(purchases_as_of_cutoff.revenue as double) as line_revenue
    from purchases_as_of_cutoff
    left join order_gross on purchases_as_of_cutoff.order_id = order_gross.order_id
    where order_gross.order_id is null
),

all_lines as (
    select * from allocated
    union all
    select * from unmatched
),

final as (
    select
        cast(all_lines.order_id as {{ dbt.type_string() }}) as order_id,
        cast(all_lines.line_number as {{ dbt.type_bigint() }}) as line_number,
        purchases_as_of_cutoff.user_id,
        purchases_as_of_cutoff.purchased_at,
        purchases_as_of_cutoff.purchase_month,
        purchases_as_of_cutoff.order_sequence,
        cast(all_lines.product_id as {{ dbt.type_string() }}) as product_id,
        cast(all_lines.category as {{ dbt.type_string() }}) as category,
        cast(all_lines.line_category as {{ dbt.type_string() }}) as line_category,
        cast(all_lines.quantity as {{ dbt.type_bigint() }}) as quantity,
        all_lines.unit_price,
        all_lines.line_gross,
        purchases_as_of_cutoff.amount as order_amount,
        purchases_as_of_cutoff.revenue as order_revenue,
        all_lines.line_revenue,
        all_lines.has_lines
    from all_lines
    inner join purchases_as_of_cutoff on all_lines.order_id = purchases_as_of_cutoff.order_id
)

select * from final
