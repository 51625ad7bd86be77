-- Early churn per first-purchase cohort month: a customer churned early when neither a purchase
-- nor a touchpoint of their (stitched) actor falls in (first purchase, first purchase + N days],
-- N the `early_churn_days` var. Only cohorts whose every window has closed by the data cutoff
-- (latest first purchase + N days <= cutoff) have a row, so nothing after the cutoff is read.
--
-- Touchpoints come from int_touchpoints in one pass: the daily fact int_actor_days keeps each
-- day's first touchpoint only, which cannot tell whether the actor was back later on the day of
-- the first purchase, after it (DECISIONLOG.md, repeat purchase and early churn).
{%- set churn_days = var('early_churn_days') %}

with

customers as (
    select * from {{ ref('int_customer_second_purchases') }}
),

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

benchmarks as (
    select * from {{ ref('benchmarks') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

cohorts as (
    select customers.cohort_month
    from customers
    cross join cutoff
    group by customers.cohort_month, cutoff.data_cutoff_at
    having
        {{ dbt.dateadd('day', churn_days, 'max(customers.first_order_at)') }}
        <= cutoff.data_cutoff_at
),

windows as (
    select
        customers.user_id,
        customers.cohort_month,
        customers.first_order_at,
        {{ dbt.dateadd('day', churn_days, 'customers.first_order_at') }} as window_ends_at,
        customers.second_purchase_day <= {{ churn_days }} as bought_again,
        customers.days_to_second_purchase
    from customers
    inner join cohorts on customers.cohort_month = cohorts.cohort_month
),

returned_by_touchpoint as (
    select distinct windows.user_id
    from windows
    inner join touchpoints
        on
            windows.user_id = touchpoints.actor_id
            and windows.first_order_at < touchpoints.occurred_at
            and windows.window_ends_at >= touchpoints.occurred_at
),

flagged as (
    select
        windows.cohort_month,
        windows.days_to_second_purchase,
        case
            when coalesce(windows.bought_again, false) then 0
            when returned_by_touchpoint.user_id is not null then 0
            else 1
        end as churned
    from windows
    left join returned_by_touchpoint on windows.user_id = returned_by_touchpoint.user_id
),

cohort_churn as (
    select
        cohort_month,
        count(*) as customers,
        sum(churned) as churned_30d,
        {{ median('days_to_second_purchase') }} as median_days_to_second_purchase
    from flagged
    group by cohort_month
),

benchmark as (
    select benchmark_value
    from benchmarks
    where metric = 'early_churn_30d'
),

final as (
    select
        cast(cohort_churn.cohort_month as date) as cohort_month,
        cast(cohort_churn.customers as {{ dbt.type_bigint() }}) as customers,
        cast(cohort_churn.churned_30d as {{ dbt.type_bigint() }}) as churned_30d,
        {{ safe_divide('cohort_churn.churned_30d', 'cohort_churn.customers') }} as churn_30d_rate,
        cast(cohort_churn.median_days_to_second_purchase as double)
            as median_days_to_second_purchase,
        cast(benchmark.benchmark_value as double) as benchmark_churn_30d_rate,
        {{ safe_divide('cohort_churn.churned_30d', 'cohort_churn.customers') }}
        - cast(benchmark.benchmark_value as double) as gap
    from cohort_churn
    left join benchmark on 1 = 1
)

select * from final
