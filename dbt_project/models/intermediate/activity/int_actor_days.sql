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
-- Incremental by actor, resumed: a windowed run deletes and rebuilds the days of each actor
-- listed in int_touchpoint_changes from its last active day before the day that holds its
-- rebuild_from (that day's row carries the next active day, which the rebuilt days may change),
-- all of them when rebuild_from is null (DECISIONLOG 146). A table built before these two
-- columns existed needs a full refresh.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_resumed_actor_days() }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
-- after int_touchpoint_change_log, which reads the days as the previous run left them
-- depends_on: {{ ref('int_touchpoint_change_log') }}

with

{% if incremental_mode() %}
-- each changed actor's last day kept by the pre-hook: its touchpoints are read from the day
-- after it (there is no touchpoint between it and the first day deleted), all of them when
-- none is kept
kept_days as (
    select
        kept.actor_id,
        max(kept.activity_date) as last_kept_date
    from {{ this }} as kept
    inner join {{ ref('int_touchpoint_changes') }} as changes
        on kept.actor_id = changes.actor_id
    group by kept.actor_id
),
{% endif %}

touchpoints as (
    select
        rows_read.touchpoint_id,
        rows_read.actor_id,
        rows_read.occurred_at,
        cast(rows_read.occurred_at as date) as activity_date,
        rows_read.channel
    from {{ ref('int_touchpoints') }} as rows_read
    {% if incremental_mode() %}
        inner join {{ ref('int_touchpoint_changes') }} as changes
            on rows_read.actor_id = changes.actor_id
        left join kept_days on rows_read.actor_id = kept_days.actor_id
    where
        kept_days.last_kept_date is null
        or rows_read.occurred_at >= {{ dbt.dateadd('day', 1, 'kept_days.last_kept_date') }}
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
