-- One row per customer (consenting user with a purchase up to the data cutoff): the order
-- summary that RFM scoring and the customers mart build on.
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

purchases_as_of_cutoff as (
    select purchases.*
    from purchases
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

summary as (
    select
        user_id,
        min(purchased_at) as first_order_at,
        max(purchased_at) as last_order_at,
        count(*) as orders,
        sum(revenue) as net_revenue
    from purchases_as_of_cutoff
    group by user_id
),

final as (
    select
        summary.user_id,
        cast({{ dbt.date_trunc('month', 'summary.first_order_at') }} as date) as cohort_month,
        summary.first_order_at,
        summary.last_order_at,
        summary.orders,
        summary.net_revenue,
        {{ dbt.datediff('summary.last_order_at', 'cutoff.data_cutoff_at', 'day') }}
            as days_since_last_order,
        cutoff.data_cutoff_at
    from summary
    cross join cutoff
)

select * from final
