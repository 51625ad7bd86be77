-- Revenue invariant: a cohort's cumulative revenue at the cutoff month equals the net revenue
-- of that cohort's customers (int_customer_orders, which the customers mart is built from),
-- to the cent.
with

ltv_at_cutoff as (
    select
        cohort_month,
        cumulative_revenue,
        row_number() over (
            partition by cohort_month order by months_since_first_order desc
        ) as month_rank
    from {{ ref('cohort_ltv') }}
),

customer_revenue as (
    select
        cohort_month,
        sum(net_revenue) as net_revenue
    from {{ ref('int_customer_orders') }}
    group by cohort_month
)

select
    ltv_at_cutoff.cohort_month,
    ltv_at_cutoff.cumulative_revenue,
    customer_revenue.net_revenue
from ltv_at_cutoff
full outer join customer_revenue on ltv_at_cutoff.cohort_month = customer_revenue.cohort_month
where
    (ltv_at_cutoff.month_rank = 1 or ltv_at_cutoff.month_rank is null)
    and (
        ltv_at_cutoff.cumulative_revenue is null
        or customer_revenue.net_revenue is null
        or abs(ltv_at_cutoff.cumulative_revenue - customer_revenue.net_revenue) >= 0.01
    )
