-- Touchpoint value per period: for every touchpoint (event name), how many actors it reached,
-- and how many of them were payment converters or payment abandoners in the same period. Two
-- period types share one definition: 'month' (UTC calendar months) and 'overall' (the whole
-- data, its period_start the first month). marts.touchpoint_value and
-- marts.touchpoint_value_overall read one type each.
--
-- In a period, an actor is a payment converter when they have a `conversion_touchpoint`
-- touchpoint in it, and a payment abandoner when they are not a converter and have a
-- `payment_intent_touchpoints` touchpoint in it that no conversion follows within the window of
-- the first configured funnel (boundary inclusive; the conversion may fall after the period).
{%- set window_seconds = funnel_window_seconds(funnels()[0]) %}
{%- set intent_touchpoints = var('payment_intent_touchpoints') %}
{%- if intent_touchpoints is string or intent_touchpoints | length == 0 %}
    {{ exceptions.raise_compiler_error("payment_intent_touchpoints must be a non-empty list") }}
{%- endif %}
{%- set quoted_intents = [] %}
{%- for name in intent_touchpoints %}
    {%- do quoted_intents.append(quote_literal(name)) %}
{%- endfor %}

with

touchpoints as (
    select
        touchpoint_id,
        actor_id,
        occurred_at,
        touchpoint,
        dwell_ms
    from {{ ref('int_touchpoints') }}
),

conversions as (
    select
        actor_id,
        occurred_at
    from touchpoints
    where touchpoint = {{ quote_literal(var('conversion_touchpoint')) }}
),

intents as (
    select
        touchpoint_id,
        actor_id,
        occurred_at
    from touchpoints
    where touchpoint in ({{ quoted_intents | join(', ') }})
),

intent_outcomes as (
    select
        intents.touchpoint_id,
        count(conversions.actor_id) = 0 as is_abandoned
    from intents
    left join conversions
        on
            intents.actor_id = conversions.actor_id
            and intents.occurred_at <= conversions.occurred_at
            and {{ dbt.dateadd('second', window_seconds, 'intents.occurred_at') }}
            >= conversions.occurred_at
    group by intents.touchpoint_id
),

flagged as (
    select
        touchpoints.actor_id,
        touchpoints.touchpoint,
        touchpoints.dwell_ms,
        cast({{ dbt.date_trunc('month', 'touchpoints.occurred_at') }} as date) as month_start,
        case
            when touchpoints.touchpoint = {{ quote_literal(var('conversion_touchpoint')) }}
                then 1
            else 0
        end as is_conversion,
        case when intent_outcomes.is_abandoned then 1 else 0 end as is_abandoned_intent
    from touchpoints
    left join intent_outcomes on touchpoints.touchpoint_id = intent_outcomes.touchpoint_id
),

first_month as (
    select min(month_start) as first_month_start from flagged
),

periodized as (
    select
        'month' as period_type,
        month_start as period_start,
        actor_id,
        touchpoint,
        dwell_ms,
        is_conversion,
        is_abandoned_intent
    from flagged

    union all

    select
        'overall' as period_type,
        first_month.first_month_start as period_start,
        flagged.actor_id,
        flagged.touchpoint,
        flagged.dwell_ms,
        flagged.is_conversion,
        flagged.is_abandoned_intent
    from flagged
    cross join first_month
),

actor_periods as (
    select
        period_type,
        period_start,
        actor_id,
        max(is_conversion) = 1 as is_converter,
        max(is_conversion) = 0 and max(is_abandoned_intent) = 1 as is_abandoner
    from periodized
    group by period_type, period_start, actor_id
),

period_totals as (
    select
        period_type,
        period_start,
        count(*) as active_actors,
        sum(case when is_converter then 1 else 0 end) as converters,
        sum(case when is_abandoner then 1 else 0 end) as abandoners
    from actor_periods
    group by period_type, period_start
),

actor_touchpoints as (
    select distinct
        period_type,
        period_start,
        actor_id,
        touchpoint
    from periodized
),

reach as (
    select
        actor_touchpoints.period_type,
        actor_touchpoints.period_start,
        actor_touchpoints.touchpoint,
        count(*) as actors_reached,
        sum(case when actor_periods.is_converter then 1 else 0 end) as converters_reached,
        sum(case when actor_periods.is_abandoner then 1 else 0 end) as abandoners_reached
    from actor_touchpoints
    inner join actor_periods
        on
            actor_touchpoints.period_type = actor_periods.period_type
            and actor_touchpoints.period_start = actor_periods.period_start
            and actor_touchpoints.actor_id = actor_periods.actor_id
    group by
        actor_touchpoints.period_type,
        actor_touchpoints.period_start,
        actor_touchpoints.touchpoint
),

dwell as (
    select
        period_type,
        period_start,
        touchpoint,
        {{ median('dwell_ms') }} as median_dwell_ms
    from periodized
    group by period_type, period_start, touchpoint
),

touchpoint_names as (
    select distinct touchpoint from touchpoints
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
