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
--
-- Incremental on DuckDB (DECISIONLOG 149, macros/mart_periods.sql): a period's statuses read
-- the activity of that period and of the one before, and whether the actor was active at all
-- before that; the last period with activity moves only with the cutoff. So a windowed run
-- deletes and rebuilds the periods from the one that holds the earliest day the daily runs
-- since the last build changed (or the old or new cutoff's day), reading the days from the
-- period before it and each actor's first active day. Every row when it cannot tell
-- (mart_rebuild_floor()).
{%- set floor = user_lifecycle_floor() %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_user_lifecycle_periods() }}",
    post_hook="{{ record_mart_build(user_lifecycle_settings()) }}",
) }}
-- depends_on: {{ ref('int_touchpoint_change_log') }}, {{ ref('int_mart_builds') }}
{%- set period_types = ['week', 'month'] %}
{%- set rebuilt_from = {} %}
{%- set read_from = {} %}
{%- set earlier = {} %}
{%- if floor is not none %}
    {%- for period_type in period_types %}
        {%- set start = period_floor(period_type, floor) %}
        {%- do rebuilt_from.update({period_type: start}) %}
        {%- do read_from.update({period_type: 'cast(' ~ dbt.dateadd(period_type, -1, start) ~ ' as date)'}) %}
        {%- do earlier.update({period_type: 'cast(' ~ dbt.dateadd(period_type, -2, start) ~ ' as date)'}) %}
    {%- endfor %}
{%- endif %}

with

actor_days as (
    select
        actor_id,
        activity_date,
        first_touchpoint_at
    from {{ ref('int_actor_days') }}
    {%- if floor is not none %}
    -- the days from the earliest period read
    where activity_date >= least({{ read_from['week'] }}, {{ read_from['month'] }})
    {%- endif %}
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
{%- if floor is not none %}

-- each actor's first active day (every day before the floor is before the cutoff)
first_days as (
    select
        actor_id,
        min(activity_date) as first_active_date
    from {{ ref('int_actor_days') }}
    group by actor_id
),
{%- endif %}

-- Per period type: the periods each actor was active in, each with the actor's active period
-- before and after it, in one window pass (not a join of the activity with itself by actor and
-- period: DECISIONLOG 122).
{%- for period_type in period_types %}

    activity_{{ period_type }} as (
        select distinct
            actor_id,
            cast({{ dbt.date_trunc(period_type, 'activity_date') }} as date) as period_start
        from as_of_cutoff
        {%- if floor is not none %}
        where activity_date >= {{ read_from[period_type] }}

        union all

        -- one period before the period read for an actor active before it: the actor's next
        -- active period is then resurrecting (returning only from the period read)
        select
            actor_id,
            {{ earlier[period_type] }} as period_start
        from first_days
        where first_active_date < {{ read_from[period_type] }}
        {%- endif %}
    ),

    sequenced_{{ period_type }} as (
        select
            actor_id,
            period_start,
            lag(period_start) over (partition by actor_id order by period_start)
                as previous_active_start,
            lead(period_start) over (partition by actor_id order by period_start)
                as next_active_start,
            cast({{ dbt.dateadd(period_type, -1, 'period_start') }} as date) as previous_period_start,
            cast({{ dbt.dateadd(period_type, 1, 'period_start') }} as date) as next_period_start
        from activity_{{ period_type }}
    ),

    last_{{ period_type }} as (
        select max(period_start) as last_period_start from activity_{{ period_type }}
    ),

    -- each active period's status, and 'dormant' in the period after an active one when the actor
    -- is not active in it (up to the last period with activity)
    statuses_{{ period_type }} as (
        select
            period_start,
            case
                when previous_active_start is null then 'new'
                when previous_active_start = previous_period_start then 'returning'
                else 'resurrecting'
            end as status
        from sequenced_{{ period_type }}
        {%- if floor is not none %}
        where period_start >= {{ rebuilt_from[period_type] }}
        {%- endif %}

        union all

        select
            sequenced.next_period_start as period_start,
            'dormant' as status
        from sequenced_{{ period_type }} as sequenced
        cross join last_{{ period_type }} as last_period
        where
            sequenced.next_period_start <= last_period.last_period_start
            and (
                sequenced.next_active_start is null
                or sequenced.next_active_start <> sequenced.next_period_start
            )
        {%- if floor is not none %}
            and sequenced.next_period_start >= {{ rebuilt_from[period_type] }}
        {%- endif %}
    ),
{%- endfor %}

bounds as (
    {%- for period_type in period_types %}
        select
            '{{ period_type }}' as period_type,
            min(period_start) as first_period_start,
            max(period_start) as last_period_start
        from activity_{{ period_type }}
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
),

-- 6,000 periods (over 100 years of weeks) bound the grid; the last active period ends it.
period_numbers as (
    select n from {{ generate_series(6000) }}
),

periods as (
    select
        bounds.period_type,
        cast({{ dbt.dateadd('week', 'period_numbers.n', 'bounds.first_period_start') }} as date)
            as period_start
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
            as period_start
    from bounds
    cross join period_numbers
    where
        bounds.period_type = 'month'
        and {{ dbt.dateadd('month', 'period_numbers.n', 'bounds.first_period_start') }}
        <= bounds.last_period_start
),

status_counts as (
    {%- for period_type in period_types %}
        select
            '{{ period_type }}' as period_type,
            period_start,
            status,
            count(*) as actors
        from statuses_{{ period_type }}
        group by period_start, status
        {% if not loop.last %}union all{% endif %}
    {%- endfor %}
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
    {%- if floor is not none %}
    -- the periods rebuilt
    where
        (periods.period_type = 'week' and periods.period_start >= {{ rebuilt_from['week'] }})
        or (periods.period_type = 'month' and periods.period_start >= {{ rebuilt_from['month'] }})
    {%- endif %}
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
