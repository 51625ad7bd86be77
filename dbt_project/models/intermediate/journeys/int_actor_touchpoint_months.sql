-- Touchpoints per actor, UTC month and touchpoint (event name), with the payment intents that
-- no conversion followed: the actor-level half of int_touchpoint_value, kept by day so the daily
-- run recomputes only the actors it touches and the touchpoint value is an aggregate of this.
--
-- An intent (a `payment_intent_touchpoints` touchpoint) is abandoned when no
-- `conversion_touchpoint` touchpoint of the same actor follows it within the window of the first
-- configured funnel (boundary inclusive; the conversion may fall after the month).
--
-- Incremental by actor, like int_sessions: a windowed run deletes and rebuilds, from all their
-- touchpoints, the actors listed in int_touchpoint_changes.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete('actor_id in ' ~ changed_actors() ~ ' or ' ~ withdrawn('actor_id')) }}"
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
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
        cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month_start,
        touchpoint
    from {{ ref('int_touchpoints') }}
    {% if incremental_mode() %}
    where actor_id in {{ changed_actors() }}
    {% endif %}
),

counts as (
    select
        actor_id,
        month_start,
        touchpoint,
        count(*) as touchpoint_count
    from touchpoints
    group by actor_id, month_start, touchpoint
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
        occurred_at,
        month_start,
        touchpoint
    from touchpoints
    where touchpoint in ({{ quoted_intents | join(', ') }})
),

-- one row per intent: whether a conversion followed it within the window (macros/journeys.sql:
-- on DuckDB an ASOF join to the first conversion at or after it, elsewhere a range join)
intent_outcomes as (
    {{ intent_outcomes('intents', 'conversions', window_seconds) }}
),

abandoned as (
    select
        actor_id,
        month_start,
        touchpoint,
        sum(case when is_abandoned then 1 else 0 end) as abandoned_intent_count
    from intent_outcomes
    group by actor_id, month_start, touchpoint
),

final as (
    select
        counts.actor_id,
        counts.month_start,
        cast(counts.touchpoint as {{ dbt.type_string() }}) as touchpoint,
        cast(counts.touchpoint_count as {{ dbt.type_bigint() }}) as touchpoint_count,
        cast(coalesce(abandoned.abandoned_intent_count, 0) as {{ dbt.type_bigint() }})
            as abandoned_intent_count
    from counts
    left join abandoned
        on
            counts.actor_id = abandoned.actor_id
            and counts.month_start = abandoned.month_start
            and counts.touchpoint = abandoned.touchpoint
)

select * from final
