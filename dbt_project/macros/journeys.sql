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


{#-
    int_touchpoint_value keeps its months before the touchpoints changed (DECISIONLOG 166), with
    the machinery of the marts kept by period (macros/mart_periods.sql): a windowed run deletes
    and rebuilds its 'month' rows from a floor month, and its 'overall' rows always (they read
    the per-actor fact int_actor_touchpoints, a few sums).
-#}

{% macro touchpoint_value_settings() -%}
    {#- What int_touchpoint_value's rows depend on besides the facts (int_mart_builds.settings):
        another value rebuilds every row. -#}
    {{- return(tojson({
        'conversion_touchpoint': var('conversion_touchpoint'),
        'payment_intent_touchpoints': var('payment_intent_touchpoints'),
        'window_seconds': funnel_window_seconds(funnels()[0]),
    })) -}}
{%- endmacro %}


{% macro touchpoint_value_floor() -%}
    {#- The first month whose rows int_touchpoint_value rebuilds ('YYYY-MM-DD'), or none: every
        row. The month that holds the earliest day the daily runs since its last build changed
        (mart_rebuild_floor()) less the window of the first funnel: an intent's outcome looks
        that far ahead, so a change on a day reaches the intents up to one window before it (as
        int_actor_touchpoint_months rebuilds from there). None as well when the months kept no
        longer match the facts: their actors reached must add up to the rows of
        int_actor_touchpoint_months before the floor (an erasure outside the runs deletes some),
        and their touchpoint names must be all the facts' names (every month has a row for each
        name, so a name that comes or goes changes every month). -#}
    {%- set day = mart_rebuild_floor(touchpoint_value_settings()) -%}
    {%- if day is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set window_seconds = funnel_window_seconds(funnels()[0]) -%}
    {%- set moment = modules.datetime.datetime.strptime(day, '%Y-%m-%d')
        - modules.datetime.timedelta(seconds=window_seconds) -%}
    {%- set floor = moment.date().replace(day=1).isoformat() -%}
    {%- set bound = 'cast(' ~ quote_literal(floor) ~ ' as date)' -%}
    {%- set query -%}
        with

        kept as (
            select
                touchpoint,
                sum(actors_reached) as actors_reached
            from {{ this }}
            where period_type = 'month' and period_start < {{ bound }}
            group by touchpoint
        ),

        names as (
            select distinct touchpoint from {{ ref('int_actor_touchpoints') }}
        )

        select
            (select coalesce(sum(kept.actors_reached), 0) from kept) as kept_reached,
            (
                select count(*) from {{ ref('int_actor_touchpoint_months') }}
                where month_start < {{ bound }}
            ) as fact_rows,
            (
                select count(*) from kept
                where kept.touchpoint not in (select names.touchpoint from names)
            ) as kept_only,
            (
                select count(*) from names
                where names.touchpoint not in (select kept.touchpoint from kept)
            ) as facts_only
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- if row['fact_rows'] == 0 -%}
        {#- no month before the floor: every row is rebuilt anyway -#}
        {{- return(none) -}}
    {%- endif -%}
    {%- if row['kept_reached'] != row['fact_rows'] or row['kept_only'] != 0
        or row['facts_only'] != 0 -%}
        {%- do log(this.identifier ~ ': the months before ' ~ floor ~ ' no longer match the facts'
            ~ ' (actors reached ' ~ row['kept_reached'] ~ ', fact rows ' ~ row['fact_rows']
            ~ ', names only kept ' ~ row['kept_only'] ~ ', only in the facts '
            ~ row['facts_only'] ~ '): rebuilding every row', info=True) -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(floor) -}}
{%- endmacro %}


{% macro delete_touchpoint_value_periods() -%}
    {#- Pre-hook of int_touchpoint_value: its 'overall' rows and its 'month' rows from
        touchpoint_value_floor() on, or every row. Nothing on a first build or on Spark (not
        incremental). -#}
    {%- if is_incremental() -%}
        {%- set floor = touchpoint_value_floor() -%}
        delete from {{ this }}
        {%- if floor is not none %}
        where period_type = 'overall' or period_start >= cast({{ quote_literal(floor) }} as date)
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
