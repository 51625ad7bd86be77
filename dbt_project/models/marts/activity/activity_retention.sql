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
-- One pass per definition and period type, joined on the actor alone: a join and a grouping
-- keyed by the definition and period type strings as well cost three times as much (the
-- recurring cohorts' start x return pairs, 88 million at 50M touchpoints, are most of the work).
-- The day rows need no distinct: int_actor_days and int_actor_event_days are unique by actor and
-- day (and touchpoint), which their tests check.
--
-- Incremental on DuckDB (DECISIONLOG 147, macros/mart_periods.sql): a row changes only when the
-- actors' start or return events change, and they change only from the day the daily runs since
-- the last build logged (int_touchpoint_change_log), or across the cutoff. An actor's first
-- start moves only to a day at or after it, and a cohort counts only actors whose start is in
-- it, so every row whose return period starts before that day's period is as it was: a windowed
-- run deletes and rebuilds the rows from that period on, for every cohort (the cohort sizes
-- read all history). Every row when it cannot tell (mart_rebuild_floor()).
{%- set definitions = activity_retention_definitions() %}
{%- set period_types = ['day', 'week'] %}
{%- set floor = activity_retention_floor() %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_activity_retention_periods() }}",
    post_hook="{{ record_mart_build(activity_retention_settings()) }}",
) }}
-- depends_on: {{ ref('int_touchpoint_change_log') }}, {{ ref('int_mart_builds') }}


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
{%- for definition in definitions %}
    {%- set d = loop.index %}
    {%- for role in activity_retention_roles(definition) %}
        {%- set touchpoint = definition[role] %}

        -- definition {{ d }} ({{ definition.name }}): the actors' {{ role }} days, up to the cutoff
        {{ role }}_events_{{ d }} as (
            select
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
                {% endif %}
        ),
        {%- for period_type in period_types %}

            {{ role }}_{{ period_type }}s_{{ d }} as (
                {%- if period_type == 'day' %}
                    select
                        actor_id,
                        activity_date as period_start
                    from {{ role }}_events_{{ d }}
                {%- else %}
                    select distinct
                        actor_id,
                        cast({{ dbt.date_trunc('week', 'activity_date') }} as date) as period_start
                    from {{ role }}_events_{{ d }}
                {%- endif %}
            ),
        {%- endfor %}
    {%- endfor %}
    {%- for period_type in period_types %}
        {%- set key = period_type ~ 's_' ~ d %}

        first_{{ key }} as (
            select
                actor_id,
                min(period_start) as cohort_period
            from start_{{ key }}
            group by actor_id
        ),
    {%- endfor %}
{%- endfor %}

-- cohort sizes: first_time, one cohort per actor; recurring, every period with a start event
cohorts as (
    {%- for definition in definitions %}
        {%- set d = loop.index %}
        {%- set definition_loop = loop %}
        {%- for period_type in period_types %}
            {%- set key = period_type ~ 's_' ~ d %}
            {%- for cohort_type in ['first_time', 'recurring'] %}
                select
                    {{ quote_literal(definition.name) }} as definition,
                    '{{ cohort_type }}' as cohort_type,
                    '{{ period_type }}' as period_type,
                    cohort_period,
                    count(*) as cohort_size
                from (
                    {%- if cohort_type == 'first_time' %}
                        select cohort_period from first_{{ key }}
                    {%- else %}
                        select period_start as cohort_period from start_{{ key }}
                    {%- endif %}
                ) as members
                group by cohort_period
                {%- if not (loop.last and definition_loop.last and period_type == period_types[-1]) %}
                    union all
                {%- endif %}
            {%- endfor %}
        {%- endfor %}
    {%- endfor %}
),

-- the cohort's actors with a return event in each period from the cohort's on
retained as (
    {%- for definition in definitions %}
        {%- set d = loop.index %}
        {%- set definition_loop = loop %}
        {%- for period_type in period_types %}
            {%- set key = period_type ~ 's_' ~ d %}
            {%- for cohort_type in ['first_time', 'recurring'] %}
                select
                    {{ quote_literal(definition.name) }} as definition,
                    '{{ cohort_type }}' as cohort_type,
                    '{{ period_type }}' as period_type,
                    members.cohort_period,
                    returns.period_start as return_period,
                    count(*) as retained_actors
                from (
                    {%- if cohort_type == 'first_time' %}
                        select
                            actor_id,
                            cohort_period
                        from first_{{ key }}
                    {%- else %}
                        select
                            actor_id,
                            period_start as cohort_period
                        from start_{{ key }}
                    {%- endif %}
                ) as members
                inner join {{ activity_retention_roles(definition)[-1] }}_{{ key }} as returns
                    on
                        members.actor_id = returns.actor_id
                        and members.cohort_period <= returns.period_start
                {% if floor is not none %}
                        and returns.period_start >= {{ period_floor(period_type, floor) }}
                {% endif %}
                group by members.cohort_period, returns.period_start
                {%- if not (loop.last and definition_loop.last and period_type == period_types[-1]) %}
                    union all
                {%- endif %}
            {%- endfor %}
        {%- endfor %}
    {%- endfor %}
),

-- the first and last active days over every definition's events
event_bounds as (
    {%- for definition in definitions %}
        {%- set d = loop.index %}
        {%- set definition_loop = loop %}
        {%- for role in activity_retention_roles(definition) %}
            select
                min(activity_date) as first_date,
                max(activity_date) as last_date
            from {{ role }}_events_{{ d }}
            {%- if not (loop.last and definition_loop.last) %}
                union all
            {%- endif %}
        {%- endfor %}
    {%- endfor %}
),

-- the cutoff's own day (no cutoff: the last active day) and the periods up to it
bounds as (
    select
        min(event_bounds.first_date) as first_date,
        coalesce(
            max(cast(cutoff.data_cutoff_at as date)), max(event_bounds.last_date)
        ) as last_date
    from event_bounds
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
    {%- if floor is not none %}
    -- the periods this build rebuilds
    where
        {%- for period_type in period_types %}
        {% if not loop.first %}or {% endif -%}
        (periods.period_type = '{{ period_type }}'
            and periods.period_start >= {{ period_floor(period_type, floor) }})
        {%- endfor %}
    {%- endif %}
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
