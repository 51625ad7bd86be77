-- Touchpoint value per period: for every touchpoint (event name), how many actors it reached,
-- and how many of them were payment converters or payment abandoners in the same period. Two
-- period types share one definition: 'month' (UTC calendar months) and 'overall' (the whole
-- data, its period_start the first month). marts.touchpoint_value and
-- marts.touchpoint_value_overall read one type each.
--
-- In a period, an actor is a payment converter when they have a `conversion_touchpoint`
-- touchpoint in it, and a payment abandoner when they are not a converter and have a payment
-- intent in it that no conversion followed (int_actor_touchpoint_months says which).
--
-- The actor counts are aggregates of the daily facts, kept by actor: the months of
-- int_actor_touchpoint_months, the whole data of int_actor_touchpoints (one row per actor and
-- touchpoint, with the actor's overall status). Only the median dwell reads int_touchpoints,
-- because a median does not add up from smaller medians.
--
-- Incremental on DuckDB (DECISIONLOG 166, macros/journeys.sql): a windowed run deletes and
-- rebuilds the 'month' rows from the month that holds the earliest day the daily runs since its
-- last build changed, less the funnel window (touchpoint_value_floor()), and the 'overall'
-- rows; every row when it cannot tell.
{%- set floor = touchpoint_value_floor() %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_touchpoint_value_periods() }}",
    post_hook="{{ record_mart_build(touchpoint_value_settings()) }}",
) }}
-- depends_on: {{ ref('int_touchpoint_change_log') }}, {{ ref('int_mart_builds') }}
{%- set month_floor = none if floor is none else 'cast(' ~ quote_literal(floor) ~ ' as date)' %}
with

-- the months rebuilt
actor_months as (
    select * from {{ ref('int_actor_touchpoint_months') }}
    {%- if month_floor is not none %}
        where month_start >= {{ month_floor }}
    {%- endif %}
),

-- the whole data, one row per actor and touchpoint
actor_touchpoints as (
    select * from {{ ref('int_actor_touchpoints') }}
),

actor_month_status as (
    select
        actor_id,
        month_start,
        max(
            case
                when touchpoint = {{ quote_literal(var('conversion_touchpoint')) }} then 1 else 0
            end
        ) as has_conversion,
        max(case when abandoned_intent_count > 0 then 1 else 0 end) as has_abandoned_intent
    from actor_months
    group by actor_id, month_start
),

first_month as (
    select min(month_start) as first_month_start
    from {{ ref('int_actor_touchpoint_months') }}
),

month_totals as (
    select
        'month' as period_type,
        month_start as period_start,
        count(*) as active_actors,
        sum(case when has_conversion = 1 then 1 else 0 end) as converters,
        sum(case when has_conversion = 0 and has_abandoned_intent = 1 then 1 else 0 end)
            as abandoners
    from actor_month_status
    group by month_start
),

-- the actors over the whole data: each actor's one row with marks_actor
overall_totals as (
    select
        'overall' as period_type,
        first_month.first_month_start as period_start,
        count(*) as active_actors,
        sum(case when actor_touchpoints.is_converter then 1 else 0 end) as converters,
        sum(case when actor_touchpoints.is_abandoner then 1 else 0 end) as abandoners
    from actor_touchpoints
    cross join first_month
    where actor_touchpoints.marks_actor
    group by first_month.first_month_start
),

period_totals as (
    select * from month_totals
    union all
    select * from overall_totals
),

-- Reach per period type in a pass of its own, joined on the actor (and month) alone, rather
-- than one join keyed by the period type and start as well (DECISIONLOG 94). actor_months is
-- unique by actor, month and touchpoint, so each row is one actor reached.
month_reach as (
    select
        'month' as period_type,
        actor_months.month_start as period_start,
        actor_months.touchpoint,
        count(*) as actors_reached,
        sum(case when status.has_conversion = 1 then 1 else 0 end) as converters_reached,
        sum(
            case when status.has_conversion = 0 and status.has_abandoned_intent = 1 then 1 else 0 end
        ) as abandoners_reached
    from actor_months
    inner join actor_month_status as status
        on
            actor_months.actor_id = status.actor_id
            and actor_months.month_start = status.month_start
    group by actor_months.month_start, actor_months.touchpoint
),

-- actor_touchpoints is unique by actor and touchpoint: each row is one actor reached
overall_reach as (
    select
        'overall' as period_type,
        first_month.first_month_start as period_start,
        actor_touchpoints.touchpoint,
        count(*) as actors_reached,
        sum(case when actor_touchpoints.is_converter then 1 else 0 end) as converters_reached,
        sum(case when actor_touchpoints.is_abandoner then 1 else 0 end) as abandoners_reached
    from actor_touchpoints
    cross join first_month
    group by first_month.first_month_start, actor_touchpoints.touchpoint
),

reach as (
    select * from month_reach
    union all
    select * from overall_reach
),

dwell_groupings as (
    {%- if month_floor is none %}
        -- Both period types' medians in one pass: the rollup's grouping by touchpoint alone is
        -- 'overall'. Two groupings of the dwell values made DuckDB store their 35.5M rows at 50M
        -- first (DECISIONLOG 141).
        select
            dwell_values.month_start,
            dwell_values.touchpoint,
            grouping(dwell_values.month_start) as is_overall,
            {{ median('dwell_values.dwell_ms') }} as median_dwell_ms
        from (
            select
                cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month_start,
                touchpoint,
                dwell_ms
            from {{ ref('int_touchpoints') }}
            where dwell_ms is not null
        ) as dwell_values
        group by dwell_values.touchpoint, rollup(dwell_values.month_start)
    {%- else %}
        -- The months rebuilt, from their rows alone (by the touchpoint's time, which the scan
        -- filters on), and the whole data: two passes.
        select
            cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month_start,
            touchpoint,
            0 as is_overall,
            {{ median('dwell_ms') }} as median_dwell_ms
        from {{ ref('int_touchpoints') }}
        where
            dwell_ms is not null
            and occurred_at >= cast({{ month_floor }} as {{ dbt.type_timestamp() }})
        group by cast({{ dbt.date_trunc('month', 'occurred_at') }} as date), touchpoint

        union all

        select
            cast(null as date) as month_start,
            touchpoint,
            1 as is_overall,
            {{ median('dwell_ms') }} as median_dwell_ms
        from {{ ref('int_touchpoints') }}
        where dwell_ms is not null
        group by touchpoint
    {%- endif %}
),

dwell as (
    select
        case when dwell_groupings.is_overall = 1 then 'overall' else 'month' end as period_type,
        case
            when dwell_groupings.is_overall = 1 then first_month.first_month_start
            else dwell_groupings.month_start
        end as period_start,
        dwell_groupings.touchpoint,
        dwell_groupings.median_dwell_ms
    from dwell_groupings
    cross join first_month
),

touchpoint_names as (
    select distinct touchpoint from actor_touchpoints
),

-- Every touchpoint in every period, zero reach included, so a touchpoint that disappears from
-- a month shows as zero rather than as a missing row.
grid as (
    select
        period_totals.*,
        touchpoint_names.touchpoint
    from period_totals
    cross join touchpoint_names
),

counted as (
    select
        grid.period_type,
        grid.period_start,
        grid.touchpoint,
        grid.active_actors,
        grid.converters,
        grid.abandoners,
        coalesce(reach.actors_reached, 0) as actors_reached,
        coalesce(reach.converters_reached, 0) as converters_reached,
        coalesce(reach.abandoners_reached, 0) as abandoners_reached,
        dwell.median_dwell_ms
    from grid
    left join reach
        on
            grid.period_type = reach.period_type
            and grid.period_start = reach.period_start
            and grid.touchpoint = reach.touchpoint
    left join dwell
        on
            grid.period_type = dwell.period_type
            and grid.period_start = dwell.period_start
            and grid.touchpoint = dwell.touchpoint
),

final as (
    select
        cast(period_type as {{ dbt.type_string() }}) as period_type,
        period_start,
        cast(touchpoint as {{ dbt.type_string() }}) as touchpoint,
        cast(active_actors as {{ dbt.type_bigint() }}) as active_actors,
        cast(converters as {{ dbt.type_bigint() }}) as converters,
        cast(abandoners as {{ dbt.type_bigint() }}) as abandoners,
        cast(actors_reached as {{ dbt.type_bigint() }}) as actors_reached,
        cast(converters_reached as {{ dbt.type_bigint() }}) as converters_reached,
        cast(abandoners_reached as {{ dbt.type_bigint() }}) as abandoners_reached,
        {{ safe_divide('converters_reached', 'converters') }} as share_of_converters,
        {{ safe_divide('abandoners_reached', 'abandoners') }} as share_of_abandoners,
        {{ safe_divide(
            safe_divide('abandoners_reached', 'abandoners'),
            safe_divide('converters_reached', 'converters')
        ) }} as abandoner_lift,
        cast(median_dwell_ms as double) as median_dwell_ms,
        {{ safe_divide('converters_reached', 'actors_reached') }} as conversion_rate_with,
        {{ safe_divide('converters - converters_reached', 'active_actors - actors_reached') }}
            as conversion_rate_without
    from counted
)

select * from final
