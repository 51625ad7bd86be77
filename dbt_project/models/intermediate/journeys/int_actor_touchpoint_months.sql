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
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}
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
        touchpoint
    from {{ ref('int_touchpoints') }}
    {% if incremental_mode() %}
    where actor_id in {{ changed_actors() }}
    {% endif %}
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
        cast({{ dbt.date_trunc('month', 'touchpoints.occurred_at') }} as date) as month_start,
        case when intent_outcomes.is_abandoned then 1 else 0 end as is_abandoned_intent
    from touchpoints
    left join intent_outcomes on touchpoints.touchpoint_id = intent_outcomes.touchpoint_id
),

final as (
    select
        actor_id,
        month_start,
        cast(touchpoint as {{ dbt.type_string() }}) as touchpoint,
        cast(count(*) as {{ dbt.type_bigint() }}) as touchpoint_count,
        cast(sum(is_abandoned_intent) as {{ dbt.type_bigint() }}) as abandoned_intent_count
    from flagged
    group by actor_id, month_start, touchpoint
)

select * from final
