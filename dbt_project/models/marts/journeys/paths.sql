-- Paths (PostHog's paths insight as a table): the next-step transitions within sessions, per
-- path start and step, from the per-actor fact int_actor_path_transitions (never the
-- touchpoints, nor the 32 million session steps at 50M: DECISIONLOG 160).
--
-- A session's path is its sequence of touchpoints with repeated consecutive identical ones
-- collapsed, from the session's first touchpoint ('$session_start') or from the first occurrence
-- of `path_start_touchpoint` (when set; sessions without it are not counted). step_index k is
-- the transition from the k-th to the (k+1)-th step of the path (k = 1 .. path_max_steps, no
-- synthetic start node); '$session_end' is the drop-off: the path has no (k+1)-th step.
--
-- Only touchpoints up to the data cutoff count (int_actor_path_transitions applies it). share:
-- the transition's sessions over the sessions whose k-th step is from_touchpoint (the shares of
-- one path_start, step_index and from_touchpoint add up to 1). An actor has one row per
-- transition, so the actors of a transition are its rows.

with

actor_transitions as (
    select * from {{ ref('int_actor_path_transitions') }}
),

transitions as (
    select
        path_start,
        step_index,
        from_touchpoint,
        to_touchpoint,
        sum(sessions) as sessions,
        count(*) as actors
    from actor_transitions
    group by path_start, step_index, from_touchpoint, to_touchpoint
),

final as (
    select
        cast(path_start as {{ dbt.type_string() }}) as path_start,
        cast(step_index as {{ dbt.type_int() }}) as step_index,
        cast(from_touchpoint as {{ dbt.type_string() }}) as from_touchpoint,
        cast(to_touchpoint as {{ dbt.type_string() }}) as to_touchpoint,
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(actors as {{ dbt.type_bigint() }}) as actors,
        {{ safe_divide(
            'sessions',
            'sum(sessions) over (partition by path_start, step_index, from_touchpoint)'
        ) }} as share
    from transitions
)

select * from final
