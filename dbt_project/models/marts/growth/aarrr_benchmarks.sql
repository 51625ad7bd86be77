-- The AARRR stages against the benchmarks a user keeps in dbt_seeds/benchmarks.csv: one row per
-- month of marts.aarrr_monthly and benchmark metric. Each metric is read from the one place that
-- defines it: aarrr_monthly (reached_users, activation_rate, repeat_purchase_rate,
-- referral_rate), marts.early_churn (early_churn_30d, by cohort month) and, defined here because
-- no mart has a blended figure, acquisition_cost = the month's marketing spend / its new
-- customers, both summed over the channels of marts.channel_performance.

with

aarrr as (
    select * from {{ ref('aarrr_monthly') }}
),

channels as (
    select * from {{ ref('channel_performance') }}
),

early_churn as (
    select * from {{ ref('early_churn') }}
),

benchmarks as (
    select * from {{ ref('benchmarks') }}
),

acquisition_costs as (
    select
        month,
        {{ safe_divide('sum(spend)', 'sum(new_customers)') }} as acquisition_cost
    from channels
    group by month
),

current_values as (
    select
        month,
        'reached_users' as metric,
        cast(awareness as double) as current_value
    from aarrr
    union all
    select
        month,
        'activation_rate' as metric,
        activation_rate as current_value
    from aarrr
    union all
    select
        month,
        'repeat_purchase_rate' as metric,
        retention_rate as current_value
    from aarrr
    union all
    select
        month,
        'referral_rate' as metric,
        referral_rate as current_value
    from aarrr
    union all
    select
        aarrr.month,
        'acquisition_cost' as metric,
        acquisition_costs.acquisition_cost as current_value
    from aarrr
    left join acquisition_costs on aarrr.month = acquisition_costs.month
    union all
    select
        aarrr.month,
        'early_churn_30d' as metric,
        early_churn.churn_30d_rate as current_value
    from aarrr
    left join early_churn on aarrr.month = early_churn.cohort_month
),

compared as (
    select
        current_values.month,
        current_values.metric,
        benchmarks.stage,
        benchmarks.unit,
        benchmarks.higher_is_better,
        current_values.current_value,
        benchmarks.benchmark_value,
        current_values.current_value - benchmarks.benchmark_value as gap
    from current_values
    inner join benchmarks on current_values.metric = benchmarks.metric
),

final as (
    select
        cast(month as date) as month,
        cast(metric as {{ dbt.type_string() }}) as metric,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(unit as {{ dbt.type_string() }}) as unit,
        cast(higher_is_better as boolean) as higher_is_better,
        cast(current_value as double) as current_value,
        cast(benchmark_value as double) as benchmark_value,
        cast(gap as double) as gap,
        cast(case
            when gap is null then null
            when higher_is_better and gap >= 0 then 'better'
            when not higher_is_better and gap <= 0 then 'better'
            else 'worse'
        end as {{ dbt.type_string() }}) as status
    from compared
)

select * from final
