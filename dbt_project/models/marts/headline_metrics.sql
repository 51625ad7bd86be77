-- The warehouse's headline figures, one row per metric, computed from the other marts so they
-- always agree with them: what `make run` prints and what a BI dashboard's first tiles show.
with

funnel as (
    select * from {{ ref('funnel_conversion') }}
),

funnel_steps as (
    select * from {{ ref('int_funnel_steps') }}
),

retention as (
    select * from {{ ref('cohort_retention') }}
),

ltv as (
    select * from {{ ref('cohort_ltv') }}
),

customers as (
    select * from {{ ref('customers') }}
),

funnel_totals as (
    select
        funnel.funnel_name,
        sum(case when funnel.step_number = 1 then funnel.users else 0 end) as entries,
        sum(
            case when funnel.step_number = funnel_steps.step_count then funnel.users else 0 end
        ) as completions
    from funnel
    inner join funnel_steps
        on
            funnel.funnel_name = funnel_steps.funnel_name
            and funnel.step_number = funnel_steps.step_number
    group by funnel.funnel_name
),

metrics as (
    select
        funnel_name || ' funnel conversion' as metric,
        {{ safe_divide('completions', 'entries') }} as metric_value,
        'ratio' as unit,
        'Entries (user x day) that reached the last step / all entries, every entry day.'
            as description
    from funnel_totals

    union all

    select
        'month-1 retention' as metric,
        {{ safe_divide('sum(active_customers)', 'sum(cohort_size)') }} as metric_value,
        'ratio' as unit,
        'Customers active in the month after their first purchase / cohort size, over the '
        || 'cohorts old enough to have a month 1.' as description
    from retention
    where months_since_first_order = 1

    union all

    select
        'LTV at 6 months' as metric,
        {{ safe_divide('sum(cumulative_revenue)', 'sum(cohort_size)') }} as metric_value,
        'revenue per customer' as unit,
        'Cumulative revenue of months 0..6 / cohort size, over the cohorts old enough to '
        || 'have a month 6.' as description
    from ltv
    where months_since_first_order = 6

    union all

    select
        'customers' as metric,
        cast(count(*) as double) as metric_value,
        'customers' as unit,
        'Consenting users with at least one purchase up to the data cutoff.' as description
    from customers

    union all

    select
        'net revenue' as metric,
        cast(sum(net_revenue) as double) as metric_value,
        'revenue' as unit,
        'Sum of purchase revenue (amount - discount) up to the data cutoff.' as description
    from customers
),

final as (
    select
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(metric_value as double) as metric_value,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(description as {{ dbt.type_string() }}) as description
    from metrics
)

select * from final
