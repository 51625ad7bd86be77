-- Paths (PostHog's paths insight as a table): the next-step transitions within sessions, per
-- path start and step, from the per-session fact int_session_paths (never the touchpoints).
--
-- A session's path is its sequence of touchpoints with repeated consecutive identical ones
-- collapsed, from the session's first touchpoint ('$session_start') or from the first occurrence
-- of `path_start_touchpoint` (when set; sessions without it are not counted). step_index k is
-- the transition from the k-th to the (k+1)-th step of the path (k = 1 .. path_max_steps, no
-- synthetic start node); '$session_end' is the drop-off: the path has no (k+1)-th step.
--
-- Only touchpoints up to the data cutoff count: a step counts when its first touchpoint is at or
-- before the cutoff, so a session running at the cutoff ends there. share: the transition's
-- sessions over the sessions whose k-th step is from_touchpoint (the shares of one
-- path_start, step_index and from_touchpoint add up to 1).

with

path_steps as (
    select * from {{ ref('int_session_paths') }}
),

cutoff as (
    select data_cutoff_at from {{ ref('int_data_cutoff') }}
),

as_of_cutoff as (
    select
        path_steps.path_start,
        path_steps.step_index,
        path_steps.session_id,
        path_steps.actor_id,
        path_steps.touchpoint as from_touchpoint,
        case
            when
                path_steps.next_touchpoint is not null
                and (
                    cutoff.data_cutoff_at is null
                    or path_steps.next_step_at <= cutoff.data_cutoff_at
                )
                then path_steps.next_touchpoint
            else '$session_end'
        end as to_touchpoint
    from path_steps
    cross join cutoff
    where cutoff.data_cutoff_at is null or path_steps.step_at <= cutoff.data_cutoff_at
),

transitions as (
    select
        path_start,
        step_index,
        from_touchpoint,
        to_touchpoint,
        count(*) as sessions,
        count(distinct actor_id) as actors
    from as_of_cutoff
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
