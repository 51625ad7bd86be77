-- Touchpoints by actor, with their session.
--
-- The actor is the user when the touchpoint names one; otherwise the user its anonymous_id was
-- last seen with (int_identity_map), so touchpoints before login count for the user who later
-- logs in; otherwise `anon:<anonymous_id>` for devices that never log in. Touchpoints of users
-- without consent (directly or through the map) and of unknown user_ids are left out.
--
-- Sessions: more than `session_timeout_minutes` of inactivity starts a new session (a gap of
-- exactly the timeout stays in it). Continuous activity is cut into sessions of at most
-- `session_max_hours`, counted from the first touchpoint of the activity: a touchpoint more than
-- N x max after it opens session N + 1. Midnight means nothing to a session.
--
-- The raw properties JSON stays in stg_touchpoints (join on touchpoint_id): no model reads it
-- here, and it is the widest text column of the touchpoints (DECISIONLOG 110). A session is
-- (actor_id, session_number): its text id, '<actor_id>#<session_number>', is spelled by the
-- session models (int_sessions, int_session_paths), not stored on every touchpoint
-- (DECISIONLOG 125).
--
-- Incremental by actor, resumed from the previous build: a windowed run deletes and rebuilds the
-- touchpoints of the actors listed in int_touchpoint_changes from each one's rebuild_from (the
-- start of an activity run, or all history), numbering their sessions on from the actor's
-- kept_sessions, so session numbers stay those of a full build (DECISIONLOG 138).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('occurred_at') }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('stg_touchpoints') }}, {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
{%- set timeout_seconds = var('session_timeout_minutes') * 60 %}
{%- set max_microseconds = (var('session_max_hours') * 3600 * 1000000) | int %}

with

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

-- The rows, with the columns the final select takes, read once for the final join. Named, not
-- `resolved.*`: an incremental run reads this CTE twice, so DuckDB stores it, and with every
-- staged column it scanned and stored the raw properties too (DECISIONLOG 119).
rebuilt_actors as (
    {{ touchpoint_actors(
        'resolved.touchpoint_key, resolved.touchpoint_id, resolved.resolved_user_id, '
        ~ 'resolved.anonymous_id, resolved.is_stitched, resolved.occurred_at, '
        ~ 'resolved.touchpoint, resolved.channel, resolved.campaign, resolved.page, '
        ~ 'resolved.dwell_ms'
    ) }}
),

-- The same rows, three columns and the key: the session windows sort only these. A full build
-- runs the query a second time rather than read rebuilt_actors, because DuckDB stores a CTE
-- that is read twice with all its columns, and its window operators then sorted whole rows
-- (properties included). An incremental run rebuilds a few actors: it reads rebuilt_actors
-- rather than filter every staged touchpoint twice (DECISIONLOG 100).
sequence_inputs as (
    {%- if incremental_mode() %}
        select
            touchpoint_key,
            touchpoint_id,
            actor_id,
            occurred_at
        from rebuilt_actors
    {%- else %}
        {{ touchpoint_actors('resolved.touchpoint_key, resolved.touchpoint_id, resolved.occurred_at') }}
    {%- endif %}
),

-- Sessions are computed on the narrow rows and joined back on the integer key: the window
-- sorts move four columns instead of the whole row, and the join hashes a bigint, not the
-- touchpoint_id text. Every window has the same specification (the actor's touchpoints by time,
-- touchpoint_id on ties), in three passes, each one sort: the previous touchpoint and the
-- position; the start of the activity run; the session number and the session's first position
-- (DECISIONLOG 105).
ordered as (
    select
        touchpoint_key,
        touchpoint_id,
        actor_id,
        occurred_at,
        lag(occurred_at) over (
            partition by actor_id order by occurred_at, touchpoint_id
        ) as previous_occurred_at,
        row_number() over (
            partition by actor_id order by occurred_at, touchpoint_id
        ) as actor_touchpoint_number
    from sequence_inputs
),

-- an activity run starts after more than the timeout of inactivity
run_starts as (
    select
        *,
        coalesce(
            occurred_at > {{ dbt.dateadd('second', timeout_seconds, 'previous_occurred_at') }},
            true
        ) as is_run_start
    from ordered
),

-- the run's first touchpoint: the latest run start so far (the times only grow)
runs as (
    select
        *,
        max(case when is_run_start then occurred_at end) over (
            partition by actor_id
            order by occurred_at, touchpoint_id
            rows between unbounded preceding and current row
        ) as run_started_at
    from run_starts
),

run_offsets as (
    select
        *,
        {{ dbt.datediff('run_started_at', 'occurred_at', 'microsecond') }} as microseconds_into_run,
        {{ dbt.datediff('run_started_at', 'previous_occurred_at', 'microsecond') }}
            as previous_microseconds_into_run
    from runs
),

-- the run is cut into chunks of session_max_hours from its first touchpoint (a touchpoint more
-- than N x max after it is in chunk N); a session starts with a run or with a chunk (the
-- previous touchpoint is in the same run unless this one starts it)
session_starts as (
    select
        *,
        is_run_start
        or case
            when microseconds_into_run = 0 then 0
            else ceil(microseconds_into_run / {{ max_microseconds }}.0) - 1
        end
        <> case
            when previous_microseconds_into_run = 0 then 0
            else ceil(previous_microseconds_into_run / {{ max_microseconds }}.0) - 1
        end as is_session_start
    from run_offsets
),

numbered as (
    select
        touchpoint_key,
        count(case when is_session_start then 1 end) over (
            partition by actor_id
            order by occurred_at, touchpoint_id
            rows between unbounded preceding and current row
        ) as session_number,
        actor_touchpoint_number + 1 - max(
            case when is_session_start then actor_touchpoint_number end
        ) over (
            partition by actor_id
            order by occurred_at, touchpoint_id
            rows between unbounded preceding and current row
        ) as session_touchpoint_number
    from session_starts
),

final as (
    select
        actors.touchpoint_id,
        actors.actor_id,
        actors.resolved_user_id as user_id,
        actors.anonymous_id,
        actors.is_stitched,
        actors.resolved_user_id is null as is_anonymous_actor,
        cast(
            numbered.session_number
            {%- if incremental_mode() %} + coalesce(changes.kept_sessions, 0){% endif %}
            as {{ dbt.type_int() }}
        ) as session_number,
        cast(numbered.session_touchpoint_number as {{ dbt.type_int() }})
            as session_touchpoint_number,
        actors.occurred_at,
        actors.touchpoint,
        actors.channel,
        actors.campaign,
        actors.page,
        actors.dwell_ms
    from rebuilt_actors as actors
    inner join numbered on actors.touchpoint_key = numbered.touchpoint_key
    {%- if incremental_mode() %}
        -- the sessions the actor keeps from the previous build
        left join {{ ref('int_touchpoint_changes') }} as changes
            on actors.actor_id = changes.actor_id
    {%- endif %}
)

select * from final
