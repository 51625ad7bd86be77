-- The repeat-purchase curve: per first-purchase cohort month and day d = 1..365, the customers
-- whose second purchase (int_customer_second_purchases) came within d days of their first
-- (second - first <= d x 24 h), cumulative. Everything is as of the data cutoff; `eligible` says
-- whether every customer of the cohort has had d days to come back.
{%- set curve_days = 365 %}

with

customers as (
    select * from {{ ref('int_customer_second_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

cohorts as (
    select
        cohort_month,
        count(*) as customers,
        max(first_order_at) as latest_first_order_at
    from customers
    group by cohort_month
),

second_purchases_by_day as (
    select
        cohort_month,
        second_purchase_day,
        count(*) as second_purchase_customers
    from customers
    where second_purchase_day <= {{ curve_days }}
    group by cohort_month, second_purchase_day
),

days as (
    select n as days_since_first_purchase
    from {{ generate_series(curve_days + 1) }}
    where n >= 1
),

grid as (
    select
        cohorts.cohort_month,
        days.days_since_first_purchase,
        cohorts.customers,
        {{ dbt.dateadd('day', 'days.days_since_first_purchase', 'cohorts.latest_first_order_at') }}
        <= cutoff.data_cutoff_at as eligible,
        coalesce(second_purchases_by_day.second_purchase_customers, 0) as new_second_purchases
    from cohorts
    cross join days
    cross join cutoff
    left join second_purchases_by_day
        on
            cohorts.cohort_month = second_purchases_by_day.cohort_month
            and days.days_since_first_purchase = second_purchases_by_day.second_purchase_day
),

cumulative as (
    select
        cohort_month,
        days_since_first_purchase,
        customers,
        sum(new_second_purchases) over (
            partition by cohort_month
            order by days_since_first_purchase
            rows between unbounded preceding and current row
        ) as second_purchase_customers,
        eligible
    from grid
),

final as (
    select
        cast(cohort_month as date) as cohort_month,
        cast(days_since_first_purchase as {{ dbt.type_int() }}) as days_since_first_purchase,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        cast(second_purchase_customers as {{ dbt.type_bigint() }}) as second_purchase_customers,
        {{ safe_divide('second_purchase_customers', 'customers') }} as second_purchase_rate,
        eligible
    from cumulative
)

select * from final
