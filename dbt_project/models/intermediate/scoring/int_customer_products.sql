-- One row per customer and product bought up to the data cutoff: the purchase matrix of the
-- product recommendations (scoring.product_recommendations). A purchase's products are its
-- lines in stg_order_items; a purchase without lines has no product here. The purchase
-- definition and the consent filter are int_purchases'. (To be read from int_order_lines once
-- that model exists: same grain, one line per purchase and product.)
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

order_items as (
    select * from {{ ref('stg_order_items') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

purchase_lines as (
    select
        purchases.user_id,
        order_items.product_id,
        purchases.order_id,
        purchases.purchased_at
    from purchases
    inner join order_items on purchases.order_id = order_items.order_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

final as (
    select
        user_id,
        product_id,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at,
        count(distinct order_id) as purchases
    from purchase_lines
    group by user_id, product_id
)

select * from final
