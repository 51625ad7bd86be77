-- Monthly cohort retention. The cohort is the UTC month of a customer's first purchase; a
-- customer is active in month k with at least one purchase in calendar month cohort_month + k.
with

cohort_months as (
    select * from {{ ref('int_cohort_months') }}
),

final as (
    select
        cohort_month,
        cast(months_since_first_order as {{ dbt.type_int() }}) as months_since_first_order,
        cast(cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(active_customers as {{ dbt.type_bigint() }}) as active_customers,
        {{ safe_divide('active_customers', 'cohort_size') }} as retention_rate
    from cohort_months
)

select * from final
