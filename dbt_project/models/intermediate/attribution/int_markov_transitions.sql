-- The first-order Markov chain of the attribution journeys, as transition counts: one row per
-- (from_state, to_state) pair. States: 'start', one per channel, and the absorbing
-- 'conversion' and 'null'. Each journey of int_attribution_paths, its repeated consecutive
-- channels collapsed (a, a, b -> a, b: no result changes, see touchpoint_alchemy/scoring/markov.py),
-- walks start -> c1 -> ... -> cn -> conversion (a purchase) or null (a non-buyer). The Python
-- scoring asset solves the chain and its removal effects from these counts.
with

-- previous_channel is stored with the path (int_attribution_paths, rebuilt by journey in a
-- daily run) rather than taken here by a window over every journey (DECISIONLOG 112)
paths as (
    select
        journey_id,
        is_converted,
        touch_number,
        channel,
        previous_channel
    from {{ ref('int_attribution_paths') }}
),

collapsed as (
    select
        journey_id,
        is_converted,
        channel,
        lead(channel) over (partition by journey_id order by touch_number) as next_channel,
        row_number() over (partition by journey_id order by touch_number) as step
    from paths
    where previous_channel is null or previous_channel != channel
),

transitions as (
    select
        'start' as from_state,
        channel as to_state
    from collapsed
    where step = 1

    union all

    select
        channel as from_state,
        coalesce(next_channel, case when is_converted then 'conversion' else 'null' end)
            as to_state
    from collapsed
),

final as (
    select
        cast(from_state as {{ dbt.type_string() }}) as from_state,
        cast(to_state as {{ dbt.type_string() }}) as to_state,
        cast(count(*) as {{ dbt.type_bigint() }}) as transitions
    from transitions
    group by from_state, to_state
)

select * from final
