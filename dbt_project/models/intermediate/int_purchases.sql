-- Order facts: one row per purchase of a consenting user, with its place in the customer's
-- order sequence. A purchase is a paid order that is not cancelled or refunded; its time is
-- created_at and its revenue amount - discount.
with

orders as (
    select * from {{ ref('stg_orders') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

purchases as (
    select
        orders.order_id,
        orders.user_id,
        orders.created_at as purchased_at,
        orders.amount,
        orders.discount,
        orders.amount - orders.discount as revenue,
        orders.currency
    from orders
    inner join users on orders.user_id = users.user_id
    where {{ is_purchase('orders.paid_at', 'orders.status') }}
),

sequenced as (
    select
        *,
        row_number() over (
            partition by user_id order by purchased_at, order_id
        ) as order_sequence,
        lag(purchased_at) over (
            partition by user_id order by purchased_at, order_id
        ) as previous_purchased_at
    from purchases
),

final as (
    select
        order_id,
        user_id,
        purchased_at,
        cast({{ dbt.date_trunc('month', 'purchased_at') }} as date) as purchase_month,
        amount,
        discount,
        revenue,
        currency,
        order_sequence,
        order_sequence = 1 as is_first_order,
        {{ dbt.datediff(
            'cast(previous_purchased_at as date)', 'cast(purchased_at as date)', 'day'
        ) }} as days_since_previous_order
    from sequenced
)

select * from final
