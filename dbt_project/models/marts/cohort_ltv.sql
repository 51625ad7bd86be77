-- Cumulative revenue per customer of each monthly cohort: ltv_per_customer at month k is the
-- cohort's revenue in months 0..k divided by the cohort size.
with

cohort_months as (
    select * from {{ ref('int_cohort_months') }}
),

cumulated as (
    select
        *,
        sum(revenue) over (
            partition by cohort_month
            order by months_since_first_order
            rows between unbounded preceding and current row
        ) as cumulative_revenue
    from cohort_months
),

final as (
    select
        cohort_month,
        cast(months_since_first_order as {{ dbt.type_int() }}) as months_since_first_order,
        cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(cumulative_revenue as decimal(18, 2)) as cumulative_revenue,
        {{ safe_divide('cumulative_revenue', 'cohort_size') }} as ltv_per_customer
    from cumulated
)

select * from final
