-- Stickiness (PostHog's): per ISO week (starting Monday) and calendar month, UTC, how many actors
-- were active on exactly 1, 2, ... days of the period, from the daily activity fact
-- int_actor_days. Only touchpoints up to the data cutoff count (a day is active when its first
-- touchpoint is at or before the cutoff), and only complete periods: the period ends at or
-- before the cutoff. A cutoff in the last second of a day covers that day (a bare-date cutoff is
-- 23:59:59.999999), so a period ending on that day is complete. Rows with no actors are left out.
--
-- Incremental on DuckDB (DECISIONLOG 147, macros/mart_periods.sql): a period's rows read that
-- period's days alone, and whether it is complete moves only across the cutoff's day, so a
-- windowed run deletes and rebuilds the periods from the one that holds the earliest day the
-- daily runs since the last build changed (or the old or new cutoff's day), reading the days
-- from there. Every row when it cannot tell (mart_rebuild_floor()).
{%- set floor = stickiness_floor() %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_stickiness_periods() }}",
    post_hook="{{ record_mart_build(stickiness_settings()) }}",
) }}
-- depends_on: {{ ref('int_touchpoint_change_log') }}, {{ ref('int_mart_builds') }}

with

actor_days as (
    select * from {{ ref('int_actor_days') }}
),

cutoff as (
    select
        data_cutoff_at,
        -- the first day the cutoff does not cover whole
        cast({{ dbt.dateadd('second', 1, 'data_cutoff_at') }} as date) as first_open_date
    from {{ ref('int_data_cutoff') }}
),

as_of_cutoff as (
    select
        actor_days.actor_id,
        actor_days.activity_date
    from actor_days
    cross join cutoff
    where cutoff.data_cutoff_at is null or actor_days.first_touchpoint_at <= cutoff.data_cutoff_at
),

actor_periods as (
    select
        'week' as period_type,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as period_start,
        actor_id,
        count(*) as days_active
    from as_of_cutoff
    {%- if floor is not none %}
    where activity_date >= {{ period_floor('week', floor) }}
    {%- endif %}
    group by cast({{ dbt.date_trunc('week', 'activity_date') }} as date), actor_id

    union all

    select
        'month' as period_type,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as period_start,
        actor_id,
        count(*) as days_active
    from as_of_cutoff
    {%- if floor is not none %}
    where activity_date >= {{ period_floor('month', floor) }}
    {%- endif %}
    group by cast({{ dbt.date_trunc('month', 'activity_date') }} as date), actor_id
),

complete_periods as (
    select
        actor_periods.period_type,
        actor_periods.period_start,
        actor_periods.actor_id,
        actor_periods.days_active
    from actor_periods
    cross join cutoff
    where
        cutoff.data_cutoff_at is null
        or (
            actor_periods.period_type = 'week'
            and cast({{ dbt.dateadd('day', 7, 'actor_periods.period_start') }} as date)
            <= cutoff.first_open_date
        )
        or (
            actor_periods.period_type = 'month'
            and cast({{ dbt.dateadd('month', 1, 'actor_periods.period_start') }} as date)
            <= cutoff.first_open_date
        )
),

final as (
    select
        cast(period_type as {{ dbt.type_string() }}) as period_type,
        period_start,
        cast(days_active as {{ dbt.type_int() }}) as days_active,
        cast(count(*) as {{ dbt.type_bigint() }}) as actors
    from complete_periods
    group by period_type, period_start, days_active
)

select * from final
