-- The next-step transitions of each actor's session paths, as of the data cutoff: the
-- actor-level half of marts.paths, which counts its sessions and its actors from these rows
-- (a count of distinct actors does not add up from smaller counts; the actor's rows do).
--
-- Only touchpoints up to the data cutoff count: a step counts when its first touchpoint is at or
-- before the cutoff, so a session running at the cutoff ends there ('$session_end').
--
-- Incremental on DuckDB (DECISIONLOG 160, macros/paths.sql): a windowed run lists the actors
-- whose session paths may have changed since the last build (a step or a next step from the
-- floor of int_touchpoint_change_log on, which a moved cutoff is after), deletes their rows and
-- builds them again; every row when it cannot tell (mart_rebuild_floor()).
{%- set floor = path_transitions_floor() %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_rebuilt_path_actors() }}",
    post_hook="{{ record_mart_build(path_transitions_settings()) }}",
) }}
-- depends_on: {{ ref('int_touchpoint_change_log') }}, {{ ref('int_mart_builds') }}

with

path_steps as (
    select * from {{ ref('int_session_paths') }}
),

cutoff as (
    select data_cutoff_at from {{ ref('int_data_cutoff') }}
),

rebuilt_steps as (
    select
        path_steps.path_start,
        path_steps.actor_id,
        path_steps.step_index,
        path_steps.touchpoint,
        path_steps.step_at,
        path_steps.next_touchpoint,
        path_steps.next_step_at
    from path_steps
    {%- if floor is not none %}
        -- the actors the pre-hook listed and deleted
        where path_steps.actor_id in (
            select rebuilt.actor_id from {{ path_transitions_rebuilt_actors() }} as rebuilt
        )
    {%- endif %}
),

as_of_cutoff as (
    select
        rebuilt_steps.actor_id,
        rebuilt_steps.path_start,
        rebuilt_steps.step_index,
        rebuilt_steps.touchpoint as from_touchpoint,
        case
            when
                rebuilt_steps.next_touchpoint is not null
                and (
                    cutoff.data_cutoff_at is null
                    or rebuilt_steps.next_step_at <= cutoff.data_cutoff_at
                )
                then rebuilt_steps.next_touchpoint
            else '$session_end'
        end as to_touchpoint,
        coalesce(rebuilt_steps.next_step_at, rebuilt_steps.step_at) as last_step_at
    from rebuilt_steps
    cross join cutoff
    where cutoff.data_cutoff_at is null or rebuilt_steps.step_at <= cutoff.data_cutoff_at
),

final as (
    select
        cast(actor_id as {{ dbt.type_string() }}) as actor_id,
        cast(path_start as {{ dbt.type_string() }}) as path_start,
        cast(step_index as {{ dbt.type_int() }}) as step_index,
        cast(from_touchpoint as {{ dbt.type_string() }}) as from_touchpoint,
        cast(to_touchpoint as {{ dbt.type_string() }}) as to_touchpoint,
        cast(count(*) as {{ dbt.type_bigint() }}) as sessions,
        max(last_step_at) as last_step_at
    from as_of_cutoff
    group by actor_id, path_start, step_index, from_touchpoint, to_touchpoint
)

select * from final
