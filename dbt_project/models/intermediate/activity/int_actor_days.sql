-- One row per actor and UTC day with at least one touchpoint: the daily activity fact that
-- marts.active_users_daily and marts.stickiness aggregate, so they never rescan the touchpoints.
--
-- The data cutoff is applied by the marts, not here (this table holds all history): a day counts
-- as of the cutoff when its first touchpoint is at or before it (first_touchpoint_at). An
-- anonymous actor's channel is the channel of its first touchpoint that has one: per day, the
-- first such touchpoint's channel and time (first_channel, first_channel_at), so the marts can
-- pick the earliest one up to the cutoff.
--
-- Each row also carries the actor's next active day and that day's first touchpoint time
-- (null on the actor's last day), so marts.active_users_daily finds the next active day as of
-- its cutoff without a window over every actor-day (DECISIONLOG 83).
--
-- Incremental by actor, like int_actor_touchpoint_months: a windowed run deletes and rebuilds,
-- from all their touchpoints, the actors listed in int_touchpoint_changes. A table built before
-- these two columns existed needs a full refresh.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete('actor_id in ' ~ changed_actors() ~ ' or ' ~ withdrawn('actor_id')) }}"
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}

with

touchpoints as (
    select
        touchpoint_id,
        actor_id,
        occurred_at,
        cast(occurred_at as date) as activity_date,
        channel
    from {{ ref('int_touchpoints') }}
    {% if incremental_mode() %}
    where actor_id in {{ changed_actors() }}
    {% endif %}
),

days as (
    select
        actor_id,
        activity_date,
        count(*) as touchpoints,
        min(occurred_at) as first_touchpoint_at
    from touchpoints
    group by actor_id, activity_date
),

days_with_next as (
    select
        actor_id,
        activity_date,
        touchpoints,
        first_touchpoint_at,
        lead(activity_date) over (partition by actor_id order by activity_date)
            as next_activity_date,
        lead(first_touchpoint_at) over (partition by actor_id order by activity_date)
            as next_first_touchpoint_at
    from days
),

-- the first touchpoint with a channel of each actor and day (ties: the smaller touchpoint_id)
channel_touchpoints as (
    select
        actor_id,
        activity_date,
        occurred_at,
        channel,
        row_number() over (
            partition by actor_id, activity_date order by occurred_at, touchpoint_id
        ) as channel_rank
    from touchpoints
    where channel is not null
),

first_channels as (
    select
        actor_id,
        activity_date,
        occurred_at as first_channel_at,
        channel as first_channel
    from channel_touchpoints
    where channel_rank = 1
),

final as (
    select
        cast(days.actor_id as {{ dbt.type_string() }}) as actor_id,
        days.activity_date,
        cast(days.touchpoints as {{ dbt.type_bigint() }}) as touchpoints,
        days.first_touchpoint_at,
        cast(first_channels.first_channel as {{ dbt.type_string() }}) as first_channel,
        first_channels.first_channel_at,
        days.next_activity_date,
        days.next_first_touchpoint_at
    from days_with_next as days
    left join first_channels
        on
            days.actor_id = first_channels.actor_id
            and days.activity_date = first_channels.activity_date
)

select * from final
