-- Lifecycle of actors (PostHog's definitions) per week (starting Monday) and per month, UTC.
-- An actor is active in a period when they have at least one touchpoint in it, up to the data
-- cutoff (later touchpoints are ignored). In each period:
--   new           the actor's first active period;
--   returning     active in the period and in the previous one;
--   resurrecting  active, not active in the previous period, active in some earlier period;
--   dormant       active in the previous period but not in this one (a negative count).
-- Periods run from the first to the last period with activity up to the cutoff (the cutoff's
-- own period whenever it has activity), and every period has all four statuses, zero included.

-- Activity comes from the daily fact int_actor_days (one row per actor and day, incremental by
-- actor), not from the touchpoints: an actor is active on a day as of the cutoff when the day's
-- first touchpoint is at or before it, and a period is active when one of its days is.

with

actor_days as (
    select
        actor_id,
        activity_date,
        first_touchpoint_at
    from {{ ref('int_actor_days') }}
),

cutoff as (
    select data_cutoff_at from {{ ref('int_data_cutoff') }}
),

as_of_cutoff as (
    select
        actor_days.actor_id,
        actor_days.activity_date
    from actor_days
    cross join cutoff
    where cutoff.data_cutoff_at is null or actor_days.first_touchpoint_at <= cutoff.data_cutoff_at
),

activity as (
    select distinct
        'week' as period_type,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as period_start,
        actor_id
    from as_of_cutoff

    union all

    select distinct
        'month' as period_type,
        cast({{ dbt.date_trunc('month', 'activity_date') }} as date) as period_start,
        actor_id
    from as_of_cutoff
),

bounds as (
    select
        period_type,
        min(period_start) as first_period_start,
        max(period_start) as last_period_start
    from activity
    group by period_type
),

-- 6,000 periods (over 100 years of weeks) bound the grid; the last active period ends it.
period_numbers as (
    select n from {{ generate_series(6000) }}
),

periods as (
    select
        bounds.period_type,
        cast({{ dbt.dateadd('week', 'period_numbers.n', 'bounds.first_period_start') }} as date)
            as period_start,
        cast({{ dbt.dateadd('week', 'period_numbers.n - 1', 'bounds.first_period_start') }} as date)
            as previous_period_start
    from bounds
    cross join period_numbers
    where
        bounds.period_type = 'week'
        and {{ dbt.dateadd('week', 'period_numbers.n', 'bounds.first_period_start') }}
        <= bounds.last_period_start

    union all

    select
        bounds.period_type,
        cast({{ dbt.dateadd('month', 'period_numbers.n', 'bounds.first_period_start') }} as date)
            as period_start,
        cast({{ dbt.dateadd('month', 'period_numbers.n - 1', 'bounds.first_period_start') }} as date)
            as previous_period_start
    from bounds
    cross join period_numbers
    where
        bounds.period_type = 'month'
        and {{ dbt.dateadd('month', 'period_numbers.n', 'bounds.first_period_start') }}
        <= bounds.last_period_start
),

first_active as (
    select
        period_type,
        actor_id,
        min(period_start) as first_period_start
    from activity
    group by period_type, actor_id
),

active_statuses as (
    select
        periods.period_type,
        periods.period_start,
        activity.actor_id,
        case
            when activity.period_start = first_active.first_period_start then 'new'
            when previous.actor_id is not null then 'returning'
            else 'resurrecting'
        end as status
    from periods
    inner join activity
        on
            periods.period_type = activity.period_type
            and periods.period_start = activity.period_start
    inner join first_active
        on
            activity.period_type = first_active.period_type
            and activity.actor_id = first_active.actor_id
    left join activity as previous
        on
            periods.period_type = previous.period_type
            and periods.previous_period_start = previous.period_start
            and activity.actor_id = previous.actor_id
),

dormant_statuses as (
    select
        periods.period_type,
        periods.period_start,
        previous.actor_id,
        'dormant' as status
    from periods
    inner join activity as previous
        on
            periods.period_type = previous.period_type
            and periods.previous_period_start = previous.period_start
    left join activity as current_period
        on
            periods.period_type = current_period.period_type
            and periods.period_start = current_period.period_start
            and previous.actor_id = current_period.actor_id
    where current_period.actor_id is null
),

statuses as (
    select * from active_statuses
    union all
    select * from dormant_statuses
),

status_counts as (
    select
        period_type,
        period_start,
        status,
        count(*) as actors
    from statuses
    group by period_type, period_start, status
),

status_names as (
    select 'new' as status
    union all
    select 'returning' as status
    union all
    select 'resurrecting' as status
    union all
    select 'dormant' as status
),

grid as (
    select
        periods.period_type,
        periods.period_start,
        status_names.status
    from periods
    cross join status_names
),

final as (
    select
        cast(grid.period_type as {{ dbt.type_string() }}) as period_type,
        grid.period_start,
        cast(grid.status as {{ dbt.type_string() }}) as status,
        cast(
            case
                when grid.status = 'dormant' then -coalesce(status_counts.actors, 0)
                else coalesce(status_counts.actors, 0)
            end
            as {{ dbt.type_bigint() }}
        ) as actors
    from grid
    left join status_counts
        on
            grid.period_type = status_counts.period_type
            and grid.period_start = status_counts.period_start
            and grid.status = status_counts.status
)

select * from final
