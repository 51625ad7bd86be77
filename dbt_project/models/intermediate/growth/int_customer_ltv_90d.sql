-- One row per customer (consenting user with a purchase up to the data cutoff): the channel the
-- customer was acquired through, the first purchase, and the 90-day value: the revenue of the
-- customer's purchases from the first purchase up to exactly 90 days later (the boundary counts),
-- up to the data cutoff. The channel marts group these by acquisition channel.
with

customers as (
    select * from {{ ref('int_customer_orders') }}
),

users as (
    select * from {{ ref('int_users') }}
),

purchases as (
    select * from {{ ref('int_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

customer_channels as (
    select
        customers.user_id,
        coalesce(users.acquisition_channel, '(unknown)') as acquisition_channel,
        customers.first_order_at,
        customers.cohort_month,
        {{ dbt.dateadd('day', 90, 'customers.first_order_at') }} as ltv_90d_window_ends_at
    from customers
    inner join users on customers.user_id = users.user_id
),

window_revenue as (
    select
        customer_channels.user_id,
        sum(purchases.revenue) as ltv_90d_revenue
    from customer_channels
    inner join purchases on customer_channels.user_id = purchases.user_id
    cross join cutoff
    where
        purchases.purchased_at >= customer_channels.first_order_at
        and purchases.purchased_at <= customer_channels.ltv_90d_window_ends_at
        and purchases.purchased_at <= cutoff.data_cutoff_at
    group by customer_channels.user_id
),

final as (
    select
        customer_channels.user_id,
        customer_channels.acquisition_channel,
        customer_channels.first_order_at,
        customer_channels.cohort_month,
        customer_channels.ltv_90d_window_ends_at,
        coalesce(window_revenue.ltv_90d_revenue, 0) as ltv_90d_revenue
    from customer_channels
    left join window_revenue on customer_channels.user_id = window_revenue.user_id
)

select * from final
