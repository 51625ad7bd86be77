-- Repeat purchase and early churn agree: the curve never falls as the day grows, and each
-- early_churn cohort has the curve's cohort size and at most as many churned customers as did not
-- buy again within `early_churn_days` (a customer who bought again did not churn). Returns the
-- offending cohorts (the second check needs early_churn_days <= 365, the curve's last day).
{%- set churn_days = var('early_churn_days') %}

with

curve as (
    select * from {{ ref('repeat_purchase_curve') }}
),

churn as (
    select * from {{ ref('early_churn') }}
),

falling as (
    select
        cohort_month,
        second_purchase_customers
        < lag(second_purchase_customers) over (
            partition by cohort_month order by days_since_first_purchase
        ) as falls
    from curve
),

at_churn_day as (
    select * from curve
    where days_since_first_purchase = {{ churn_days }}
),

falls as (
    select cohort_month from falling
    where falls
),

disagreeing as (
    select churn.cohort_month
    from churn
    left join at_churn_day on churn.cohort_month = at_churn_day.cohort_month
    where
        {{ churn_days | int }} <= 365
        and (
            at_churn_day.cohort_month is null
            or churn.customers != at_churn_day.customers
            or churn.churned_30d
            > at_churn_day.customers - at_churn_day.second_purchase_customers
        )
),

final as (
    select cohort_month from falls
    union all
    select cohort_month from disagreeing
)

select * from final
