-- One row per customer and product bought up to the data cutoff: the purchase matrix of the
-- product recommendations (scoring.product_recommendations). A purchase's products are its
-- order lines (int_order_lines: the purchase definition, the consent filter and the cutoff are
-- its); the placeholder row of a purchase without lines (product 'unknown') is not a product.
with

order_lines as (
    select * from {{ ref('int_order_lines') }}
),

final as (
    select
        user_id,
        product_id,
        min(purchased_at) as first_purchased_at,
        max(purchased_at) as last_purchased_at,
        count(distinct order_id) as purchases
    from order_lines
    where has_lines
    group by user_id, product_id
)

select * from final
