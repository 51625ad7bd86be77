-- One row per customer (consenting user with a purchase up to the data cutoff): the first
-- purchase and the second one, defined once for marts.repeat_purchase_curve and
-- marts.early_churn. The second purchase is the customer's next purchase after the first on a
-- later timestamp: purchases at the same instant as the first do not count (DECISIONLOG.md,
-- repeat purchase). Purchases after the data cutoff are left out.
with

customers as (
    select * from {{ ref('int_customer_orders') }}
),

purchases as (
    select * from {{ ref('int_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

second_purchases as (
    select
        customers.user_id,
        min(purchases.purchased_at) as second_purchase_at
    from customers
    inner join purchases on customers.user_id = purchases.user_id
    cross join cutoff
    where
        purchases.purchased_at > customers.first_order_at
        and purchases.purchased_at <= cutoff.data_cutoff_at
    group by customers.user_id
),

intervals as (
    select
        customers.user_id,
        customers.cohort_month,
        customers.first_order_at,
        second_purchases.second_purchase_at,
        {{ dbt.datediff(
            'customers.first_order_at', 'second_purchases.second_purchase_at', 'microsecond'
        ) }} as microseconds_to_second_purchase
    from customers
    left join second_purchases on customers.user_id = second_purchases.user_id
),

final as (
    select
        user_id,
        cohort_month,
        first_order_at,
        second_purchase_at,
        cast(microseconds_to_second_purchase as double) / 86400000000 as days_to_second_purchase,
        -- the smallest whole d with second - first <= d x 24 h: a quotient that is a whole
        -- number is exact in double precision, any other is at least 1e-11 away from one
        cast(
            ceil(cast(microseconds_to_second_purchase as double) / 86400000000)
            as {{ dbt.type_int() }}
        ) as second_purchase_day
    from intervals
)

select * from final
