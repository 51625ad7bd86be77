-- The actors an incremental run rebuilds: one row per actor_id (see macros/incremental.sql),
-- and from where.
--
-- Sessions, funnel chains and attribution touches depend on an actor's touchpoints, so a
-- windowed run rebuilds every actor it touches:
--   - the actors of the reprocessed touchpoints (occurred since the window start - lookback, or
--     arrived late: staging.base_touchpoints_late);
--   - the previous and the current actor of every anonymous_id seen in the window: a new login
--     can move that device's earlier anonymous touchpoints to another actor.
-- Users who withdrew consent are not listed here (no table may keep their id): the daily models
-- delete their rows by comparing with int_users (macros/incremental.sql, consented()).
-- A full build has no changes: every table is rebuilt from all history.
--
-- Sessions resume from the previous build (DECISIONLOG 138). rebuild_from is the first moment
-- whose touchpoints the session models (int_touchpoints, int_sessions, int_session_paths)
-- rebuild; kept_sessions the actor's sessions before it, which they keep. A session and the
-- 24-hour cap depend only on the activity run they are in (touchpoints no more than the
-- timeout apart), so the rebuild starts at the run of the actor's last kept touchpoint before
-- its first reprocessed one, or at that reprocessed touchpoint itself when more than the
-- timeout separates them. rebuild_from is null (all history, kept_sessions 0) for an actor
-- without an earlier session, an actor listed without a reprocessed touchpoint, and both
-- actors of a device whose earlier anonymous touchpoints change actor. The other daily models
-- rebuild a listed actor from all their touchpoints.
-- A windowed run builds its joins as written (macros/planner.sql): DuckDB hashed every session's
-- actor to find the changed actors' sessions.
{{ config(
    tags=['daily'],
    pre_hook="{{ joins_build_as_written() }}",
    post_hook="{{ joins_build_as_planned() }}"
) }}
-- depends_on: {{ ref('stg_touchpoints') }}, {{ ref('int_identity_map') }}, {{ ref('int_users') }}
-- depends_on: {{ ref('base_touchpoints_late') }}, {{ ref('int_identity_map_changes') }}
{%- set since = incremental_since() %}
{%- set timeout_seconds = var('session_timeout_minutes') * 60 %}
{%- set previous = none %}
{%- set previous_sessions = none %}
{%- set late_since = none %}
{%- if execute and since is not none %}
    {%- set previous = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_touchpoints') %}
    {%- set previous_sessions = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_sessions') %}
    {#- the oldest late row's time (none: no late row, no scan for them) #}
    {%- set late_since = oldest_late_since() %}
{%- endif %}

with

{% if since is not none and previous is not none %}

touchpoints as (
    select * from {{ ref('stg_touchpoints') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

-- the previous build's int_touchpoints (read directly: a ref would be a cycle)
previous_touchpoints as (
    select
        actor_id,
        user_id,
        anonymous_id,
        is_stitched
    from {{ previous }}
),

late as (
    select touchpoint_id from {{ ref('base_touchpoints_late') }}
),

-- the window's touchpoints, and the late ones (staged in this run, dated before the window):
-- two scans, each bounded below by a time literal, not one scan of every staged row with an
-- `or` (DECISIONLOG 139)
reprocessed as (
    select
        user_id,
        anonymous_id,
        occurred_at
    from touchpoints
    where occurred_at >= {{ since }}
    {%- if late_since is not none %}

    union all

    select
        touchpoints.user_id,
        touchpoints.anonymous_id,
        touchpoints.occurred_at
    from touchpoints
    where
        touchpoints.occurred_at >= {{ late_since }}
        and touchpoints.occurred_at < {{ since }}
        and touchpoints.touchpoint_id in (select late.touchpoint_id from late)
    {%- endif %}
),

seen_anonymous_ids as (
    select distinct anonymous_id
    from reprocessed
    where anonymous_id is not null
),

current_actors as (
    select
        coalesce(
            reprocessed.user_id,
            identity_map.user_id,
            {{ dbt.concat(["'anon:'", 'reprocessed.anonymous_id']) }}
        ) as actor_id,
        reprocessed.occurred_at
    from reprocessed
    left join identity_map on reprocessed.anonymous_id = identity_map.anonymous_id
),

-- the previous build's actors of the window's devices, read once (a CTE read twice is stored
-- whole): is_anonymous for the device's anonymous touchpoints (no user_id of their own)
previous_device_actors as (
    select distinct
        previous_touchpoints.anonymous_id,
        previous_touchpoints.actor_id,
        (previous_touchpoints.user_id is null or previous_touchpoints.is_stitched) as is_anonymous
    from previous_touchpoints
    inner join seen_anonymous_ids
        on previous_touchpoints.anonymous_id = seen_anonymous_ids.anonymous_id
),

previous_actors as (
    select actor_id from previous_device_actors
),

unioned as (
    select actor_id from current_actors
    union
    select actor_id from previous_actors
),

-- only consenting users and anonymous devices: a withdrawn user's id is never stored here
changed as (
    select distinct unioned.actor_id
    from unioned
    left join users on unioned.actor_id = users.user_id
    where unioned.actor_id like 'anon:%' or users.user_id is not null
),

-- The actor of each window device's anonymous touchpoints (those without a user_id of their
-- own) in the previous build, and now (none: the device is suppressed).
previous_devices as (
    select
        anonymous_id,
        actor_id
    from previous_device_actors
    where is_anonymous
),

device_actors as (
    select
        seen_anonymous_ids.anonymous_id,
        previous_devices.actor_id as previous_actor_id,
        case
            when identity_map.user_id is not null then identity_map.user_id
            when coalesce(identity_map.is_suppressed, false) then null
            else {{ dbt.concat(["'anon:'", 'seen_anonymous_ids.anonymous_id']) }}
        end as current_actor_id
    from seen_anonymous_ids
    left join previous_devices
        on seen_anonymous_ids.anonymous_id = previous_devices.anonymous_id
    left join identity_map on seen_anonymous_ids.anonymous_id = identity_map.anonymous_id
),

-- devices whose earlier anonymous touchpoints change actor: to another actor, out (suppressed
-- now), or in (suppressed in the previous build: int_identity_map_changes); both actors are
-- rebuilt from all history
moved_devices as (
    select
        device_actors.previous_actor_id,
        device_actors.current_actor_id
    from device_actors
    left join {{ ref('int_identity_map_changes') }} as remapped
        on device_actors.anonymous_id = remapped.anonymous_id
    where
        (
            device_actors.previous_actor_id is not null
            and (
                device_actors.current_actor_id is null
                or device_actors.previous_actor_id <> device_actors.current_actor_id
            )
        )
        or (
            device_actors.previous_actor_id is null
            and device_actors.current_actor_id is not null
            and coalesce(remapped.was_suppressed, false)
        )
),

moved_actors as (
    select previous_actor_id as actor_id from moved_devices
    where previous_actor_id is not null
    union
    select current_actor_id as actor_id from moved_devices
    where current_actor_id is not null
),

-- each listed actor's first reprocessed touchpoint
first_reprocessed as (
    select
        actor_id,
        min(occurred_at) as first_reprocessed_at
    from current_actors
    group by actor_id
),

{%- if previous_sessions is not none %}

-- the listed actors' sessions in the previous build, each flagged when it starts an activity
-- run (more than the timeout after the session before it ended)
kept_candidates as (
    select
        actor_id,
        session_number,
        started_at,
        ended_at,
        lag(ended_at) over (partition by actor_id order by session_number) as previous_ended_at
    from {{ previous_sessions }}
    where actor_id in (select changed.actor_id from changed)
),

previous_sessions as (
    select
        actor_id,
        session_number,
        started_at,
        ended_at,
        coalesce(
            started_at > {{ dbt.dateadd('second', timeout_seconds, 'previous_ended_at') }},
            true
        ) as is_run_start
    from kept_candidates
),

-- the sessions that start before the first reprocessed touchpoint: the last one's number and
-- end, and the start and number of its activity run's first session (sessions are numbered in
-- time order from 1)
resume_points as (
    select
        first_reprocessed.actor_id,
        first_reprocessed.first_reprocessed_at,
        max(previous_sessions.session_number) as last_kept_number,
        max(previous_sessions.ended_at) as last_kept_at,
        max(
            case when previous_sessions.is_run_start then previous_sessions.started_at end
        ) as run_started_at,
        max(
            case when previous_sessions.is_run_start then previous_sessions.session_number end
        ) as run_start_number
    from first_reprocessed
    inner join previous_sessions
        on
            first_reprocessed.actor_id = previous_sessions.actor_id
            and previous_sessions.started_at < first_reprocessed.first_reprocessed_at
    group by first_reprocessed.actor_id, first_reprocessed.first_reprocessed_at
),

-- more than the timeout after the last kept session: a new run starts at the first reprocessed
-- touchpoint; otherwise the run of the last kept session is rebuilt
kept as (
    select
        actor_id,
        case
            when
                first_reprocessed_at
                > {{ dbt.dateadd('second', timeout_seconds, 'last_kept_at') }}
                then first_reprocessed_at
            else run_started_at
        end as rebuild_from,
        case
            when
                first_reprocessed_at
                > {{ dbt.dateadd('second', timeout_seconds, 'last_kept_at') }}
                then last_kept_number
            else run_start_number - 1
        end as kept_sessions
    from resume_points
    where actor_id not in (select moved_actors.actor_id from moved_actors)
),

{%- else %}

kept as (
    select
        cast(null as {{ dbt.type_string() }}) as actor_id,
        cast(null as {{ dbt.type_timestamp() }}) as rebuild_from,
        0 as kept_sessions
    where 1 = 0
),

{%- endif %}

final as (
    select
        cast(changed.actor_id as {{ dbt.type_string() }}) as actor_id,
        kept.rebuild_from,
        cast(coalesce(kept.kept_sessions, 0) as {{ dbt.type_int() }}) as kept_sessions
    from changed
    left join kept on changed.actor_id = kept.actor_id
)

{% else %}

    final as (
        select
            cast(null as {{ dbt.type_string() }}) as actor_id,
            cast(null as {{ dbt.type_timestamp() }}) as rebuild_from,
            cast(null as {{ dbt.type_int() }}) as kept_sessions
        where 1 = 0
    )

{% endif %}

select * from final
