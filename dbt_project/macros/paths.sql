{% macro path_max_steps() -%}
    {#- The `path_max_steps` var (marts.paths: transitions k = 1 .. N), checked: a whole number >= 1. -#}
    {%- set steps = var('path_max_steps') -%}
    {%- if steps is not number or steps < 1 or steps != (steps | int) -%}
        {{ exceptions.raise_compiler_error(
            "path_max_steps must be a whole number >= 1, got '" ~ steps ~ "'") }}
    {%- endif -%}
    {{- return(steps | int) -}}
{%- endmacro %}


{% macro path_starts() -%}
    {#- Where the paths of marts.paths start: '$session_start' always, then the
        `path_start_touchpoint` var when it is set (the first occurrence of that touchpoint in
        the session). -#}
    {%- set starts = ['$session_start'] -%}
    {%- set configured = var('path_start_touchpoint', none) -%}
    {%- if configured is not none and (configured | string | trim) != '' -%}
        {%- if configured is not string -%}
            {{ exceptions.raise_compiler_error(
                "path_start_touchpoint must be one touchpoint name, got '" ~ configured ~ "'") }}
        {%- endif -%}
        {%- do starts.append(configured | trim) -%}
    {%- endif -%}
    {{- return(starts) -}}
{%- endmacro %}


{#-
    int_actor_path_transitions keeps the rows of the actors whose session paths did not change
    (DECISIONLOG 160).

    An actor's rows read that actor's rows of int_session_paths and the data cutoff alone. After
    the daily runs since the model's last build, an actor's session paths differ only in the
    sessions from the earliest day those runs changed (mart_rebuild_floor(), the machinery of
    the marts kept by period: the day of each changed actor's rebuild_from, or the first active
    day of an actor rebuilt from all history or withdrawn), and the cutoff moves a step in or out
    only between the old and the new cutoff, which the floor is at or before. So every actor
    whose rows may differ has a step or a next step from the floor on, in the paths before
    (the stored last_step_at) or after (int_session_paths). A windowed run lists those actors
    (pre-hook, in a temporary table of the run's connection, read before the delete), deletes
    their rows and builds them again from int_session_paths; every row when it cannot tell. An
    erasure (touchpoint_alchemy/erase.py) deletes a user's rows here as it does in
    int_session_paths, so the two stay in step without a run.
-#}

{% macro path_transitions_settings() -%}
    {#- What the kept rows depend on besides the session paths (int_mart_builds.settings): the
        paths' own settings, which int_session_paths applied; another value rebuilds every
        row. -#}
    {{- return(tojson({
        'path_max_steps': path_max_steps(),
        'path_starts': path_starts(),
    }, sort_keys=true)) -}}
{%- endmacro %}


{% macro path_transitions_floor() -%}
    {#- The day from which int_actor_path_transitions rebuilds its actors, or none: every row
        (a first build, Spark, or mart_rebuild_floor() cannot tell). -#}
    {%- if not is_incremental() -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(mart_rebuild_floor(path_transitions_settings())) -}}
{%- endmacro %}


{% macro path_transitions_rebuilt_actors() -%}
    {#- The temporary table of the actors a windowed run rebuilds (one connection runs a model's
        hooks and its query). -#}
    {{- return('int_actor_path_transitions__rebuilt_actors') -}}
{%- endmacro %}


{% macro delete_rebuilt_path_actors() -%}
    {#- Pre-hook of int_actor_path_transitions: the actors with a step or a next step from the
        floor on, before or after the daily runs, listed, then their rows deleted; every row when
        there is no floor. Nothing on a first build or on Spark (not incremental). -#}
    {%- if is_incremental() -%}
        {%- set floor = path_transitions_floor() -%}
        {%- if floor is none -%}
            delete from {{ this }}
        {%- else -%}
            {%- do log(this.identifier ~ ': rebuilding the actors with a step from ' ~ floor,
                info=True) -%}
            create or replace temporary table {{ path_transitions_rebuilt_actors() }} as
            select kept.actor_id from {{ this }} as kept
            where kept.last_step_at >= {{ period_floor('day', floor) }}
            union all
            select path_steps.actor_id from {{ ref('int_session_paths') }} as path_steps
            where
                coalesce(path_steps.next_step_at, path_steps.step_at)
                >= {{ period_floor('day', floor) }};
            delete from {{ this }}
            where actor_id in (select actor_id from {{ path_transitions_rebuilt_actors() }})
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
