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
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}

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

-- one grouping: the day's touchpoints, its first touchpoint, and its first touchpoint with a
-- channel (ties: the smaller touchpoint_id) by first_by (macros/analytics.sql), rather than a
-- row_number() window over the channel touchpoints joined back (DECISIONLOG 97)
days as (
    select
        actor_id,
        activity_date,
        count(*) as touchpoints,
        min(occurred_at) as first_touchpoint_at,
        {{ first_by('channel', ['occurred_at', 'touchpoint_id'], 'channel is not null') }}
            as first_channel,
        min(case when channel is not null then occurred_at end) as first_channel_at
    from touchpoints
    group by actor_id, activity_date
),

days_with_next as (
    select
        actor_id,
        activity_date,
        touchpoints,
        first_touchpoint_at,
        first_channel,
        first_channel_at,
        lead(activity_date) over (partition by actor_id order by activity_date)
            as next_activity_date,
        lead(first_touchpoint_at) over (partition by actor_id order by activity_date)
            as next_first_touchpoint_at
    from days
),

final as (
    select
        cast(actor_id as {{ dbt.type_string() }}) as actor_id,
        activity_date,
        cast(touchpoints as {{ dbt.type_bigint() }}) as touchpoints,
        first_touchpoint_at,
        cast(first_channel as {{ dbt.type_string() }}) as first_channel,
        first_channel_at,
        next_activity_date,
        next_first_touchpoint_at
    from days_with_next
)

select * from final
