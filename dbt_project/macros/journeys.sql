{% macro intent_outcomes(intents, conversions, window_seconds) -%}
    {#- One row per row of `intents` (touchpoint_id, actor_id, occurred_at, month_start,
        touchpoint): actor_id, touchpoint, month_start and is_abandoned, true when no row of
        `conversions` (actor_id, occurred_at) of the same actor falls between the intent and
        `window_seconds` after it, both ends included. -#}
    {{ return(adapter.dispatch('intent_outcomes', 'touchpoint_alchemy')(intents, conversions, window_seconds)) }}
{%- endmacro %}


{% macro default__intent_outcomes(intents, conversions, window_seconds) -%}
    select
        intents.actor_id,
        intents.touchpoint,
        intents.month_start,
        count(conversions.actor_id) = 0 as is_abandoned
    from {{ intents }} as intents
    left join {{ conversions }} as conversions
        on
            intents.actor_id = conversions.actor_id
            and intents.occurred_at <= conversions.occurred_at
            and {{ dbt.dateadd('second', window_seconds, 'intents.occurred_at') }}
            >= conversions.occurred_at
    group by intents.touchpoint_id, intents.actor_id, intents.touchpoint, intents.month_start
{%- endmacro %}


{% macro duckdb__intent_outcomes(intents, conversions, window_seconds) -%}
    {#- The first conversion at or after each intent (an ASOF join: one match per intent, no
        grouping); the intent is abandoned when there is none or it is past the window.
        DECISIONLOG 98. -#}
    select
        intents.actor_id,
        intents.touchpoint,
        intents.month_start,
        conversions.occurred_at is null
        or conversions.occurred_at
        > {{ dbt.dateadd('second', window_seconds, 'intents.occurred_at') }} as is_abandoned
    from {{ intents }} as intents
    asof left join {{ conversions }} as conversions
        on
            intents.actor_id = conversions.actor_id
            and conversions.occurred_at >= intents.occurred_at
{%- endmacro %}
