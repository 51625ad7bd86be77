-- Sessions: one row per session of an actor (see int_touchpoints for how sessions are cut).
--
-- Incremental by actor, like int_touchpoints: a windowed run rebuilds the changed actors.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete('actor_id in ' ~ changed_actors() ~ ' or ' ~ withdrawn('actor_id')) }}"
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}
with

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
    {% if incremental_mode() %}
    where actor_id in {{ changed_actors() }}
    {% endif %}
),

aggregated as (
    select
        session_id,
        actor_id,
        min(user_id) as user_id,
        min(session_number) as session_number,
        min(occurred_at) as started_at,
        max(occurred_at) as ended_at,
        count(*) as touchpoint_count,
        sum(dwell_ms) as engaged_ms,
        max(
            case when touchpoint = {{ quote_literal(var('conversion_touchpoint')) }} then 1 else 0 end
        ) = 1 as is_converted
    from touchpoints
    group by session_id, actor_id
),

landing as (
    select
        session_id,
        channel as start_channel,
        campaign as start_campaign,
        page as landing_page
    from touchpoints
    where session_touchpoint_number = 1
),

final as (
    select
        aggregated.session_id,
        aggregated.actor_id,
        aggregated.user_id,
        aggregated.user_id is null as is_anonymous_actor,
        cast(aggregated.session_number as {{ dbt.type_int() }}) as session_number,
        aggregated.started_at,
        aggregated.ended_at,
        cast(
            {{ dbt.datediff('aggregated.started_at', 'aggregated.ended_at', 'microsecond') }}
            as double
        ) / 1000000.0 as duration_seconds,
        cast(aggregated.touchpoint_count as {{ dbt.type_bigint() }}) as touchpoint_count,
        cast(coalesce(aggregated.engaged_ms, 0) as {{ dbt.type_bigint() }}) as engaged_ms,
        aggregated.is_converted,
        landing.start_channel,
        landing.start_campaign,
        landing.landing_page
    from aggregated
    inner join landing on aggregated.session_id = landing.session_id
)

select * from final
