-- Active actors per UTC day (PostHog's DAU / WAU / MAU), in total and broken down by acquisition
-- channel and by device type, from the daily activity fact int_actor_days (never the raw
-- touchpoints). Only touchpoints up to the data cutoff count: an actor is active on a day when
-- its first touchpoint of the day is at or before the cutoff.
--
--   dau          actors active on the day;
--   wau          actors active on at least one of the trailing 7 days, the day included;
--   mau          the same over the trailing 28 days;
--   new_actors   actors whose first touchpoint ever is on the day.
--
-- An actor's breakdown values: a user's acquisition channel and device type; an actor that never
-- logged in takes the channel of its first touchpoint that has one (up to the cutoff) and device
-- type '(unknown)'; nulls are '(unknown)'. Every day from the first active day to the cutoff day
-- (partial, included) has a row for every breakdown value seen, zeros included.
--
-- WAU and MAU without a distinct count over a sliding window: each active day of an actor opens
-- a run of covered days that ends N days later or at the actor's next active day, whichever
-- comes first, so an actor's runs never overlap; a running sum of +1 (run start) and -1 (run
-- end) per day is then the number of distinct actors active in the trailing N days. The next
-- active day comes with each row of the fact (next_activity_date), and the changes are summed
-- per channel x device type before the three breakdowns roll them up, so no step joins or
-- windows the actor-days more than once (DECISIONLOG 83).

with

actor_days as (
    select * from {{ ref('int_actor_days') }}
),

users as (
    select * from {{ ref('int_users') }}
),

cutoff as (
    select
        data_cutoff_at,
        cast(data_cutoff_at as date) as data_cutoff_date
    from {{ ref('int_data_cutoff') }}
),

as_of_cutoff as (
    select
        actor_days.actor_id,
        actor_days.activity_date,
        actor_days.first_channel,
        actor_days.first_channel_at,
        -- the actor's next active day as of the cutoff: the fact's next day, unless that day's
        -- first touchpoint is after the cutoff (then no later day counts either)
        case
            when
                cutoff.data_cutoff_at is null
                or actor_days.next_first_touchpoint_at <= cutoff.data_cutoff_at
                then actor_days.next_activity_date
        end as next_active_date
    from actor_days
    cross join cutoff
    where cutoff.data_cutoff_at is null or actor_days.first_touchpoint_at <= cutoff.data_cutoff_at
),

-- the channel of each actor's first touchpoint that has one, up to the cutoff
ranked_channels as (
    select
        as_of_cutoff.actor_id,
        as_of_cutoff.first_channel,
        row_number() over (
            partition by as_of_cutoff.actor_id order by as_of_cutoff.first_channel_at
        ) as channel_rank
    from as_of_cutoff
    cross join cutoff
    where
        as_of_cutoff.first_channel is not null
        and (cutoff.data_cutoff_at is null or as_of_cutoff.first_channel_at <= cutoff.data_cutoff_at)
),

first_channels as (
    select
        actor_id,
        first_channel
    from ranked_channels
    where channel_rank = 1
),

actors as (
    select
        actor_id,
        min(activity_date) as first_active_date
    from as_of_cutoff
    group by actor_id
),

actor_segments as (
    select
        actors.actor_id,
        actors.first_active_date,
        case
            when users.user_id is null then coalesce(first_channels.first_channel, '(unknown)')
            else coalesce(users.acquisition_channel, '(unknown)')
        end as acquisition_channel,
        case
            when users.user_id is null then '(unknown)'
            else coalesce(users.device_type, '(unknown)')
        end as device_type
    from actors
    left join users on actors.actor_id = users.user_id
    left join first_channels on actors.actor_id = first_channels.actor_id
),

-- each active day, with the end (exclusive) of the 7- and 28-day runs it opens
runs as (
    select
        actor_id,
        activity_date,
        case
            when next_active_date is null
                or next_active_date > cast({{ dbt.dateadd('day', 7, 'activity_date') }} as date)
                then cast({{ dbt.dateadd('day', 7, 'activity_date') }} as date)
            else next_active_date
        end as week_run_end,
        case
            when next_active_date is null
                or next_active_date > cast({{ dbt.dateadd('day', 28, 'activity_date') }} as date)
                then cast({{ dbt.dateadd('day', 28, 'activity_date') }} as date)
            else next_active_date
        end as month_run_end
    from as_of_cutoff
),

-- each active day's changes, per actor segment (channel x device type): one row per actor-day
-- and change, summed per segment and day before the breakdowns roll the segments up
run_segments as (
    select
        runs.activity_date,
        runs.week_run_end,
        runs.month_run_end,
        actor_segments.acquisition_channel,
        actor_segments.device_type,
        case when runs.activity_date = actor_segments.first_active_date then 1 else 0 end
            as is_first_active_date
    from runs
    inner join actor_segments on runs.actor_id = actor_segments.actor_id
),

changes as (
    select
        acquisition_channel,
        device_type,
        activity_date as change_date,
        1 as dau,
        is_first_active_date as new_actors,
        1 as wau_change,
        1 as mau_change
    from run_segments

    union all

    select
        acquisition_channel,
        device_type,
        week_run_end as change_date,
        0 as dau,
        0 as new_actors,
        -1 as wau_change,
        0 as mau_change
    from run_segments

    union all

    select
        acquisition_channel,
        device_type,
        month_run_end as change_date,
        0 as dau,
        0 as new_actors,
        0 as wau_change,
        -1 as mau_change
    from run_segments
),

segment_changes as (
    select
        acquisition_channel,
        device_type,
        change_date,
        sum(dau) as dau,
        sum(new_actors) as new_actors,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change
    from changes
    group by acquisition_channel, device_type, change_date
),

-- the breakdowns: every actor counts once in 'all' and once under each of its two values
daily_changes as (
    select
        'all' as breakdown,
        'all' as breakdown_value,
        change_date,
        sum(dau) as dau,
        sum(new_actors) as new_actors,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change
    from segment_changes
    group by change_date

    union all

    select
        'acquisition_channel' as breakdown,
        acquisition_channel as breakdown_value,
        change_date,
        sum(dau) as dau,
        sum(new_actors) as new_actors,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change
    from segment_changes
    group by acquisition_channel, change_date

    union all

    select
        'device_type' as breakdown,
        device_type as breakdown_value,
        change_date,
        sum(dau) as dau,
        sum(new_actors) as new_actors,
        sum(wau_change) as wau_change,
        sum(mau_change) as mau_change
    from segment_changes
    group by device_type, change_date
),

bounds as (
    select
        min(as_of_cutoff.activity_date) as first_date,
        coalesce(max(cutoff.data_cutoff_date), max(as_of_cutoff.activity_date)) as last_date
    from as_of_cutoff
    cross join cutoff
),

-- every day from the first to the cutoff day (macros/analytics.sql)
calendar as (
    {{ calendar_days('bounds', 'activity_date') }}
),

breakdown_values as (
    select distinct
        breakdown,
        breakdown_value
    from daily_changes
),

grid as (
    select
        calendar.activity_date,
        breakdown_values.breakdown,
        breakdown_values.breakdown_value
    from calendar
    cross join breakdown_values
),

counted as (
    select
        grid.activity_date,
        grid.breakdown,
        grid.breakdown_value,
        coalesce(daily_changes.dau, 0) as dau,
        coalesce(daily_changes.new_actors, 0) as new_actors,
        sum(coalesce(daily_changes.wau_change, 0)) over (
            partition by grid.breakdown, grid.breakdown_value
            order by grid.activity_date
            rows between unbounded preceding and current row
        ) as wau,
        sum(coalesce(daily_changes.mau_change, 0)) over (
            partition by grid.breakdown, grid.breakdown_value
            order by grid.activity_date
            rows between unbounded preceding and current row
        ) as mau
    from grid
    left join daily_changes
        on
            grid.breakdown = daily_changes.breakdown
            and grid.breakdown_value = daily_changes.breakdown_value
            and grid.activity_date = daily_changes.change_date
),

final as (
    select
        activity_date,
        cast(breakdown as {{ dbt.type_string() }}) as breakdown,
        cast(breakdown_value as {{ dbt.type_string() }}) as breakdown_value,
        cast(dau as {{ dbt.type_bigint() }}) as dau,
        cast(wau as {{ dbt.type_bigint() }}) as wau,
        cast(mau as {{ dbt.type_bigint() }}) as mau,
        {{ safe_divide('dau', 'mau') }} as dau_over_mau,
        cast(new_actors as {{ dbt.type_bigint() }}) as new_actors
    from counted
)

select * from final
