-- Cohort grid invariant: each cohort has exactly one row per month from 0 to the cutoff month,
-- month 0 has every customer active, and the cohort sizes add up to the customers.
with

retention as (
    select * from {{ ref('cohort_retention') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

per_cohort as (
    select
        retention.cohort_month,
        count(*) as grid_rows,
        max(retention.months_since_first_order) as last_month,
        max(case when retention.months_since_first_order = 0 then retention.active_customers end)
            as month_0_active,
        max(retention.cohort_size) as cohort_size,
        max({{ dbt.datediff('retention.cohort_month', 'cutoff.data_cutoff_month', 'month') }})
            as months_to_cutoff
    from retention
    cross join cutoff
    group by retention.cohort_month
),

customers as (
    select count(*) as customers from {{ ref('int_customer_orders') }}
),

cohort_total as (
    select sum(cohort_size) as customers from per_cohort
)

select
    'grid' as failure,
    cohort_month
from per_cohort
where
    grid_rows != months_to_cutoff + 1
    or last_month != months_to_cutoff
    or month_0_active != cohort_size

union all

select
    'cohort sizes != customers' as failure,
    null as cohort_month
from customers
cross join cohort_total
where customers.customers != cohort_total.customers
