-- The cohort grid: one row per cohort month x months since first order, for every month from
-- the cohort's first up to the month of the data cutoff, zero-activity months included.
-- A customer is active in month k when they made a purchase in calendar month cohort_month + k.
with

customers as (
    select
        user_id,
        cohort_month
    from {{ ref('int_customer_orders') }}
),

purchases as (
    select
        user_id,
        purchase_month,
        revenue,
        purchased_at
    from {{ ref('int_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from customers
    group by cohort_month
),

customer_months as (
    select
        customers.cohort_month,
        {{ dbt.datediff('customers.cohort_month', 'purchases.purchase_month', 'month') }}
            as months_since_first_order,
        purchases.user_id,
        purchases.revenue
    from purchases
    inner join customers on purchases.user_id = customers.user_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

activity as (
    select
        cohort_month,
        months_since_first_order,
        count(distinct user_id) as active_customers,
        sum(revenue) as revenue
    from customer_months
    group by cohort_month, months_since_first_order
),

-- 1,200 months (100 years) bounds the grid; the cutoff month ends it.
months as (
    select n as months_since_first_order from {{ generate_series(1200) }}
),

grid as (
    select
        cohort_sizes.cohort_month,
        months.months_since_first_order,
        cohort_sizes.cohort_size
    from cohort_sizes
    cross join months
    cross join cutoff
    where months.months_since_first_order
        <= {{ dbt.datediff('cohort_sizes.cohort_month', 'cutoff.data_cutoff_month', 'month') }}
),

final as (
    select
        grid.cohort_month,
        grid.months_since_first_order,
        grid.cohort_size,
        coalesce(activity.active_customers, 0) as active_customers,
        coalesce(activity.revenue, 0) as revenue
    from grid
    left join activity
        on
            grid.cohort_month = activity.cohort_month
            and grid.months_since_first_order = activity.months_since_first_order
)

select * from final
