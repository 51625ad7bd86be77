-- Products bought together: every ordered pair of distinct products in the same purchase (both
-- directions), kept when at least `affinity_min_co_orders` purchases hold both. Over the
-- purchases with at least one line (intermediate.int_order_lines: consenting users, up to the
-- data cutoff). One pass: one self-join of the distinct purchase x product rows, then one
-- aggregation (DECISIONLOG: product affinity in one pass).
with

baskets as (
    select distinct
        order_id,
        product_id
    from {{ ref('int_order_lines') }}
    where has_lines
),

basket_count as (
    select count(distinct order_id) as purchases
    from baskets
),

product_orders as (
    select
        product_id,
        count(*) as purchases
    from baskets
    group by product_id
),

pairs as (
    select
        baskets.product_id,
        related.product_id as related_product_id,
        count(*) as co_orders
    from baskets
    inner join baskets as related
        on
            baskets.order_id = related.order_id
            and baskets.product_id <> related.product_id
    group by baskets.product_id, related.product_id
    having count(*) >= {{ var('affinity_min_co_orders') }}
),

final as (
    select
        cast(pairs.product_id as {{ dbt.type_string() }}) as product_id,
        cast(pairs.related_product_id as {{ dbt.type_string() }}) as related_product_id,
        cast(pairs.co_orders as {{ dbt.type_bigint() }}) as co_orders,
        {{ safe_divide('pairs.co_orders', 'basket_count.purchases') }} as support,
        {{ safe_divide('pairs.co_orders', 'product_orders.purchases') }} as confidence,
        {{ safe_divide(
            'pairs.co_orders * basket_count.purchases',
            'product_orders.purchases * related_orders.purchases'
        ) }} as lift
    from pairs
    cross join basket_count
    inner join product_orders on pairs.product_id = product_orders.product_id
    inner join product_orders as related_orders
        on pairs.related_product_id = related_orders.product_id
)

select * from final
