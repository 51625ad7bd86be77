-- The first path_max_steps steps of every session's path, with the step after each: the
-- per-session fact that marts.paths aggregates, so the mart never rescans the touchpoints.
--
-- A session's touchpoints in order (session_touchpoint_number: time, then touchpoint_id) with
-- repeated consecutive identical touchpoints collapsed into one step (as PostHog does); a step's
-- time is that of its first touchpoint. One path per path start (path_starts()): from the
-- session's first step ('$session_start') and, when `path_start_touchpoint` is set, from the
-- first step with that touchpoint (sessions without it have no such path). step_index counts
-- from 1 at the path's first step; next_touchpoint and next_step_at are the step after (null:
-- the session ends there). All history; the mart applies the data cutoff with the step times.
--
-- Incremental by actor, like int_sessions: a windowed run deletes and rebuilds the paths of the
-- sessions of the actors listed in int_touchpoint_changes from each one's rebuild_from (a step
-- is never before its session's start). After a change of path_max_steps or
-- path_start_touchpoint, a full refresh.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('step_at') }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
{%- set max_steps = path_max_steps() %}
{%- set starts = path_starts() %}

with

touchpoints as (
    select
        rows_read.actor_id,
        rows_read.session_number,
        rows_read.session_touchpoint_number,
        rows_read.occurred_at,
        rows_read.touchpoint
    from {{ rebuilt_session_rows(ref('int_touchpoints'), 'rows_read') }}
),

-- a touchpoint opens a step unless the one before it in the session has the same name
flagged as (
    select
        *,
        case
            when
                lag(touchpoint) over (
                    partition by actor_id, session_number order by session_touchpoint_number
                ) = touchpoint
                then 0
            else 1
        end as is_new_step
    from touchpoints
),

-- The steps in order, each with the step after it (null: the session ends there), in one window
-- pass over the steps alone: one sort of the steps rather than a running count over every
-- touchpoint and a second pass for the next step (DECISIONLOG 116). A path is a run of the
-- session's steps, so the step after one of its steps is the session's next step whatever the
-- path's start.
steps as (
    select
        actor_id,
        session_number,
        row_number() over (
            partition by actor_id, session_number order by session_touchpoint_number
        ) as step_number,
        touchpoint,
        occurred_at as step_at,
        lead(touchpoint) over (
            partition by actor_id, session_number order by session_touchpoint_number
        ) as next_touchpoint,
        lead(occurred_at) over (
            partition by actor_id, session_number order by session_touchpoint_number
        ) as next_step_at
    from flagged
    where is_new_step = 1
),

-- The path's first max_steps steps. The path from the session's start is the steps themselves
-- (step_index = step_number): no join, and with no other start `steps` is read once (DuckDB
-- stores a CTE that is read twice; DECISIONLOG 103).
path_steps as (
    select
        '$session_start' as path_start,
        actor_id,
        session_number,
        step_number as step_index,
        touchpoint,
        step_at,
        next_touchpoint,
        next_step_at
    from steps
    where step_number <= {{ max_steps }}
    {%- for start in starts[1:] %}

        union all

        -- the path from the session's first {{ start }} step
        select
            {{ quote_literal(start) }} as path_start,
            steps.actor_id,
            steps.session_number,
            steps.step_number - path_starts.start_step + 1 as step_index,
            steps.touchpoint,
            steps.step_at,
            steps.next_touchpoint,
            steps.next_step_at
        from (
            select
                actor_id,
                session_number,
                min(step_number) as start_step
            from steps
            where touchpoint = {{ quote_literal(start) }}
            group by actor_id, session_number
        ) as path_starts
        inner join steps
            on
                path_starts.actor_id = steps.actor_id
                and path_starts.session_number = steps.session_number
                and path_starts.start_step <= steps.step_number
                and path_starts.start_step + {{ max_steps }} > steps.step_number
    {%- endfor %}
),

final as (
    select
        cast(path_start as {{ dbt.type_string() }}) as path_start,
        -- as int_sessions spells it
        {{ dbt.concat([
            'actor_id', "'#'", 'cast(session_number as ' ~ dbt.type_string() ~ ')'
        ]) }} as session_id,
        cast(actor_id as {{ dbt.type_string() }}) as actor_id,
        cast(step_index as {{ dbt.type_int() }}) as step_index,
        cast(touchpoint as {{ dbt.type_string() }}) as touchpoint,
        step_at,
        cast(next_touchpoint as {{ dbt.type_string() }}) as next_touchpoint,
        next_step_at
    from path_steps
)

select * from final
