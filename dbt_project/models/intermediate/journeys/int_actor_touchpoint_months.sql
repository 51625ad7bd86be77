-- Touchpoints per actor, UTC month and touchpoint (event name), with the payment intents that
-- no conversion followed: the actor-level half of int_touchpoint_value, kept by day so the daily
-- run recomputes only the actors it touches and the touchpoint value is an aggregate of this.
--
-- An intent (a `payment_intent_touchpoints` touchpoint) is abandoned when no
-- `conversion_touchpoint` touchpoint of the same actor follows it within the window of the first
-- configured funnel (boundary inclusive; the conversion may fall after the month).
--
-- Incremental by actor, resumed like int_sessions: a windowed run deletes and rebuilds the
-- months of each actor listed in int_touchpoint_changes from the month that holds its
-- rebuild_from minus the funnel window (an intent's outcome looks that far ahead), all of them
-- when rebuild_from is null (DECISIONLOG 146).
{%- set window_seconds = funnel_window_seconds(funnels()[0]) %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('month_start', 'actor_id', 'month', funnel_window_seconds(funnels()[0])) }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
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
        rows_read.touchpoint_id,
        rows_read.actor_id,
        rows_read.occurred_at,
        cast({{ dbt.date_trunc('month', 'rows_read.occurred_at') }} as date) as month_start,
        rows_read.touchpoint
    from {{ rebuilt_session_rows(ref('int_touchpoints'), 'rows_read', 'occurred_at', 'month', window_seconds) }}
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
