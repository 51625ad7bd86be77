-- Activity retention (PostHog's retention insight) per definition (a start/return event pair),
-- cohort type and period type ('day' or 'week', ISO weeks from Monday), UTC, over the stitched,
-- consenting actors and their touchpoints up to the data cutoff, from the daily facts
-- int_actor_days (any touchpoint) and int_actor_event_days (named touchpoints).
--
--   first_time   the cohort is the period of the actor's first start event;
--   recurring    every period with a start event is a cohort of the actor.
--
-- retained_actors at periods_since_start k: the cohort's actors with a return event in period
-- cohort_period + k (k = 0 included: when start and return are the same event, the whole cohort).
-- Every cohort with actors has a row for every k from 0 to the cutoff's period (still open, and
-- included), zeros included. Definitions: activity_retention_definitions() (macros/activity.sql).
{%- set definitions = activity_retention_definitions() %}

with

actor_days as (
    select * from {{ ref('int_actor_days') }}
),

event_days as (
    select * from {{ ref('int_actor_event_days') }}
),

cutoff as (
    select data_cutoff_at from {{ ref('int_data_cutoff') }}
),

-- one row per definition, role ('start' or 'return'), actor and active day, up to the cutoff
events as (
    {% for definition in definitions -%}
        {% set definition_loop = loop -%}
        {% for role in ['start', 'return'] -%}
            {% set touchpoint = definition[role] -%}
            select distinct
                {{ quote_literal(definition.name) }} as definition,
                '{{ role }}' as event_role,
                source_days.actor_id,
                source_days.activity_date
            from {{ 'actor_days' if touchpoint is none else 'event_days' }} as source_days
            cross join cutoff
            where
                (
                    cutoff.data_cutoff_at is null
                    or source_days.first_touchpoint_at <= cutoff.data_cutoff_at
                )
                {% if touchpoint is not none -%}
                    and source_days.touchpoint = {{ quote_literal(touchpoint) }}
                {% endif -%}
            {% if not (loop.last and definition_loop.last) %}union all
            {% endif -%}
        {% endfor -%}
    {% endfor %}
),

event_periods as (
    select distinct
        definition,
        event_role,
        actor_id,
        'day' as period_type,
        activity_date as period_start
    from events

    union all

    select distinct
        definition,
        event_role,
        actor_id,
        'week' as period_type,
        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as period_start
    from events
),

starts as (
    select * from event_periods
    where event_role = 'start'
),

returns as (
    select * from event_periods
    where event_role = 'return'
),

cohort_members as (
    select
        definition,
        'first_time' as cohort_type,
        period_type,
        actor_id,
        min(period_start) as cohort_period
    from starts
    group by definition, period_type, actor_id

    union all

    select
        definition,
        'recurring' as cohort_type,
        period_type,
        actor_id,
        period_start as cohort_period
    from starts
),

cohorts as (
    select
        definition,
        cohort_type,
        period_type,
        cohort_period,
        count(*) as cohort_size
    from cohort_members
    group by definition, cohort_type, period_type, cohort_period
),

retained as (
    select
        cohort_members.definition,
        cohort_members.cohort_type,
        cohort_members.period_type,
        cohort_members.cohort_period,
        returns.period_start as return_period,
        count(*) as retained_actors
    from cohort_members
    inner join returns
        on
            cohort_members.definition = returns.definition
            and cohort_members.period_type = returns.period_type
            and cohort_members.actor_id = returns.actor_id
            and cohort_members.cohort_period <= returns.period_start
    group by
        cohort_members.definition,
        cohort_members.cohort_type,
        cohort_members.period_type,
        cohort_members.cohort_period,
        returns.period_start
),

-- the cutoff's own day (no cutoff: the last active day) and the periods up to it
bounds as (
    select
        min(events.activity_date) as first_date,
        coalesce(max(cast(cutoff.data_cutoff_at as date)), max(events.activity_date)) as last_date
    from events
    cross join cutoff
),

-- every day from the first to the cutoff day (macros/analytics.sql)
days as (
    {{ calendar_days('bounds', 'period_start') }}
),

periods as (
    select distinct
        'day' as period_type,
        period_start
    from days

    union all

    select distinct
        'week' as period_type,
        cast({{ dbt.date_trunc('week', 'period_start') }} as date) as period_start
    from days
),

grid as (
    select
        cohorts.definition,
        cohorts.cohort_type,
        cohorts.period_type,
        cohorts.cohort_period,
        cohorts.cohort_size,
        periods.period_start as return_period,
        case
            when cohorts.period_type = 'week'
                then {{ dbt.datediff('cohorts.cohort_period', 'periods.period_start', 'day') }} / 7
            else {{ dbt.datediff('cohorts.cohort_period', 'periods.period_start', 'day') }}
        end as periods_since_start
    from cohorts
    inner join periods
        on
            cohorts.period_type = periods.period_type
            and cohorts.cohort_period <= periods.period_start
),

final as (
    select
        cast(grid.definition as {{ dbt.type_string() }}) as definition,
        cast(grid.cohort_type as {{ dbt.type_string() }}) as cohort_type,
        cast(grid.period_type as {{ dbt.type_string() }}) as period_type,
        grid.cohort_period,
        cast(grid.periods_since_start as {{ dbt.type_int() }}) as periods_since_start,
        cast(grid.cohort_size as {{ dbt.type_bigint() }}) as cohort_size,
        cast(coalesce(retained.retained_actors, 0) as {{ dbt.type_bigint() }}) as retained_actors,
        {{ safe_divide('coalesce(retained.retained_actors, 0)', 'grid.cohort_size') }}
            as retention_rate
    from grid
    left join retained
        on
            grid.definition = retained.definition
            and grid.cohort_type = retained.cohort_type
            and grid.period_type = retained.period_type
            and grid.cohort_period = retained.cohort_period
            and grid.return_period = retained.return_period
)

select * from final
