-- Item revenue (doc block item_revenue): the lines of every purchase up to the data cutoff sum
-- to its revenue (amount - discount) within 1e-6, every such purchase has lines (a purchase
-- without lines has its one 'unknown' line), and no line belongs to another order. Fails on
-- any order where that does not hold.
with

purchases as (
    select
        purchases.order_id,
        cast(purchases.revenue as double) as revenue
    from {{ ref('int_purchases') }} as purchases
    cross join {{ ref('int_data_cutoff') }} as cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

line_sums as (
    select
        order_id,
        sum(line_revenue) as line_revenue
    from {{ ref('int_order_lines') }}
    group by order_id
)

select
    coalesce(purchases.order_id, line_sums.order_id) as order_id,
    purchases.revenue,
    line_sums.line_revenue
from purchases
full outer join line_sums on purchases.order_id = line_sums.order_id
where
    purchases.order_id is null
    or line_sums.order_id is null
    or abs(line_sums.line_revenue - purchases.revenue) >= 1e-6
