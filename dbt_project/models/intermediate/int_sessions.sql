-- Sessions: one row per session of an actor (see int_touchpoints for how sessions are cut).
--
-- Incremental by actor, like int_touchpoints: a windowed run rebuilds the sessions of the changed
-- actors from each one's rebuild_from (int_touchpoint_changes), and keeps those before it.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('started_at') }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
with

touchpoints as (
    select rows_read.* from {{ rebuilt_session_rows(ref('int_touchpoints'), 'rows_read') }}
),

-- One grouping by actor and session number (the session's key, as session_id spells it) that
-- also picks the first touchpoint's channel, campaign and page (exactly one touchpoint of a
-- session has session_touchpoint_number 1): no second pass over the touchpoints and no join
-- back on the session_id text (DECISIONLOG 96). The user needs no text aggregate: an actor's
-- touchpoints all carry its user_id (the actor is that user) or none (an anonymous device), so
-- a flag says which; and the first touchpoint's text is aggregated over that touchpoint only
-- (FILTER, standard SQL) rather than over a CASE of every touchpoint (DECISIONLOG 126).
aggregated as (
    select
        actor_id,
        session_number,
        max(case when user_id is null then 0 else 1 end) as has_user,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as touchpoint_count,
        sum(dwell_ms) as engaged_ms,
        max(
            case when touchpoint = {{ quote_literal(var('conversion_touchpoint')) }} then 1 else 0 end
        ) = 1 as is_converted,
        max(channel) filter (where session_touchpoint_number = 1) as start_channel,
        max(campaign) filter (where session_touchpoint_number = 1) as start_campaign,
        max(page) filter (where session_touchpoint_number = 1) as landing_page
    from touchpoints
    group by actor_id, session_number
),

final as (
    select
        -- the session's text id (int_session_paths spells it the same way)
        {{ dbt.concat([
            'actor_id', "'#'", 'cast(session_number as ' ~ dbt.type_string() ~ ')'
        ]) }} as session_id,
        actor_id,
        case when has_user = 1 then actor_id end as user_id,
        has_user = 0 as is_anonymous_actor,
        cast(session_number as {{ dbt.type_int() }}) as session_number,
        started_at,
        ended_at,
        cast(
            {{ dbt.datediff('started_at', 'ended_at', 'microsecond') }}
            as double
        ) / 1000000.0 as duration_seconds,
        cast(touchpoint_count as {{ dbt.type_bigint() }}) as touchpoint_count,
        cast(coalesce(engaged_ms, 0) as {{ dbt.type_bigint() }}) as engaged_ms,
        is_converted,
        start_channel,
        start_campaign,
        landing_page
    from aggregated
)

select * from final
