-- Session conversion by local hour of day, weekday, device and channel. A session's context is
-- the local time of its first touchpoint in the `reporting_timezone` var (an IANA name, default
-- UTC), so a session that crosses midnight counts on the day it started. The device is the
-- user's (int_users), '(unknown)' when missing and '(anonymous)' for devices that never log in;
-- the channel is the channel of the session's first touchpoint, '(direct)' when it has none.
-- Only combinations that have sessions get a row.
{%- set timezone = var('reporting_timezone') %}
{%- if timezone is none or timezone | string | trim == '' %}
    {{ exceptions.raise_compiler_error("reporting_timezone must be an IANA time zone name") }}
{%- endif %}
{%- set zone = timezone | string | trim %}

with

sessions as (
    select * from {{ ref('int_sessions') }}
),

users as (
    select * from {{ ref('int_users') }}
),

-- The zone's UTC offset in each hour that has a session start, from the wall clock at the
-- hour's start and at the next hour's: a few thousand conversions instead of one per session
-- (DECISIONLOG 123). Within an hour whose two offsets differ (a clock change inside it), each
-- session is converted on its own.
session_hours as (
    select distinct {{ dbt.date_trunc('hour', 'started_at') }} as utc_hour
    from sessions
),

hour_offsets as (
    select
        utc_hour,
        {{ dbt.datediff('utc_hour', from_utc_timestamp('utc_hour', zone), 'second') }}
            as offset_seconds,
        {{ dbt.datediff('next_hour', from_utc_timestamp('next_hour', zone), 'second') }}
            as next_offset_seconds
    from (
        select
            utc_hour,
            {{ dbt.dateadd('hour', 1, 'utc_hour') }} as next_hour
        from session_hours
    ) as hours
),

localized as (
    select
        sessions.session_id,
        sessions.is_converted,
        case
            when hour_offsets.offset_seconds = hour_offsets.next_offset_seconds
                then {{ dbt.dateadd('second', 'hour_offsets.offset_seconds', 'sessions.started_at') }}
            else {{ from_utc_timestamp('sessions.started_at', zone) }}
        end as started_at_local,
        case
            when sessions.user_id is null then '(anonymous)'
            else coalesce(users.device_type, '(unknown)')
        end as device_type,
        coalesce(sessions.start_channel, '(direct)') as channel
    from sessions
    inner join hour_offsets
        on {{ dbt.date_trunc('hour', 'sessions.started_at') }} = hour_offsets.utc_hour
    left join users on sessions.user_id = users.user_id
),

with_context as (
    select
        session_id,
        is_converted,
        device_type,
        channel,
        extract(hour from started_at_local) as hour_of_day,
        {{ iso_weekday('started_at_local') }} as weekday
    from localized
),

aggregated as (
    select
        hour_of_day,
        weekday,
        device_type,
        channel,
        count(*) as sessions,
        sum(case when is_converted then 1 else 0 end) as converting_sessions
    from with_context
    group by hour_of_day, weekday, device_type, channel
),

final as (
    select
        cast(hour_of_day as {{ dbt.type_int() }}) as hour_of_day,
        cast(weekday as {{ dbt.type_int() }}) as weekday,
        cast({{ iso_weekday_name('weekday') }} as {{ dbt.type_string() }}) as weekday_name,
        cast(device_type as {{ dbt.type_string() }}) as device_type,
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(converting_sessions as {{ dbt.type_bigint() }}) as converting_sessions,
        {{ safe_divide('converting_sessions', 'sessions') }} as conversion_rate
    from aggregated
)

select * from final
