-- Paths invariant: the sessions that leave a touchpoint at step k (k >= 2) are exactly those
-- that reached it at step k - 1, per path start; and the shares of a node add up to 1.
with

paths as (
    select * from {{ ref('paths') }}
),

arrivals as (
    select
        path_start,
        step_index + 1 as step_index,
        to_touchpoint as touchpoint,
        sum(sessions) as sessions
    from paths
    where to_touchpoint != '$session_end' and step_index < {{ path_max_steps() }}
    group by path_start, step_index + 1, to_touchpoint
),

departures as (
    select
        path_start,
        step_index,
        from_touchpoint as touchpoint,
        sum(sessions) as sessions,
        sum(share) as shares
    from paths
    group by path_start, step_index, from_touchpoint
)

select
    coalesce(arrivals.path_start, departures.path_start) as path_start,
    coalesce(arrivals.step_index, departures.step_index) as step_index,
    'arrivals != departures' as failure
from arrivals
full outer join departures
    on
        arrivals.path_start = departures.path_start
        and arrivals.step_index = departures.step_index
        and arrivals.touchpoint = departures.touchpoint
where
    coalesce(departures.step_index, 2) >= 2
    and (
        arrivals.sessions is null
        or departures.sessions is null
        or arrivals.sessions != departures.sessions
    )

union all

select
    path_start,
    step_index,
    'shares do not add up to 1' as failure
from departures
where abs(shares - 1) > 0.000001
