-- context_conversion_overall adds up: each weekday x hour cell sums context_conversion over
-- devices and channels, and each row's weekday and hour totals sum its weekday's and its hour's
-- cells.
with

context as (
    select * from {{ ref('context_conversion') }}
),

overall as (
    select * from {{ ref('context_conversion_overall') }}
),

cells as (
    select
        weekday,
        hour_of_day,
        sum(sessions) as sessions,
        sum(converting_sessions) as converting_sessions
    from context
    group by weekday, hour_of_day
),

weekdays as (
    select
        weekday,
        sum(sessions) as sessions
    from overall
    group by weekday
),

hours as (
    select
        hour_of_day,
        sum(sessions) as sessions
    from overall
    group by hour_of_day
)

select
    coalesce(cells.weekday, overall.weekday) as weekday,
    coalesce(cells.hour_of_day, overall.hour_of_day) as hour_of_day,
    'cell != sum of devices and channels' as failure
from cells
full outer join overall
    on cells.weekday = overall.weekday and cells.hour_of_day = overall.hour_of_day
where
    cells.sessions is null
    or overall.sessions is null
    or cells.sessions != overall.sessions
    or cells.converting_sessions != overall.converting_sessions

union all

select
    overall.weekday,
    overall.hour_of_day,
    'weekday or hour totals' as failure
from overall
inner join weekdays on overall.weekday = weekdays.weekday
inner join hours on overall.hour_of_day = hours.hour_of_day
where
    overall.weekday_sessions != weekdays.sessions
    or overall.hour_sessions != hours.sessions
