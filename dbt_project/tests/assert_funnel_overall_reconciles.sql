-- funnel_conversion_overall and funnel_step_timing agree with funnel_conversion and
-- headline_metrics: the '(all)' rows sum funnel_conversion over every entry day, the channel
-- rows and the device rows each add up to them, users never increase from step to step, every
-- timed step was reached by as many chains as it has users, and the last step's
-- conversion_from_start is the funnel's headline conversion.
with

funnel as (
    select * from {{ ref('funnel_conversion') }}
),

overall as (
    select * from {{ ref('funnel_conversion_overall') }}
),

timing as (
    select * from {{ ref('funnel_step_timing') }}
),

headline as (
    select * from {{ ref('headline_metrics') }}
),

all_rows as (
    select * from overall
    where acquisition_channel = '(all)' and device_type = '(all)'
),

summed as (
    select
        funnel_name,
        step_number,
        sum(users) as users
    from funnel
    group by funnel_name, step_number
),

channel_sums as (
    select
        funnel_name,
        step_number,
        sum(users) as users
    from overall
    where acquisition_channel != '(all)'
    group by funnel_name, step_number
),

device_sums as (
    select
        funnel_name,
        step_number,
        sum(users) as users
    from overall
    where device_type != '(all)'
    group by funnel_name, step_number
),

last_steps as (
    select
        funnel_name,
        max(step_number) as step_number
    from all_rows
    group by funnel_name
),

previous as (
    select
        *,
        lag(users) over (
            partition by funnel_name, acquisition_channel, device_type
            order by step_number
        ) as previous_users
    from overall
)

select
    summed.funnel_name,
    summed.step_number,
    '(all) != funnel_conversion' as failure
from summed
full outer join all_rows
    on
        summed.funnel_name = all_rows.funnel_name
        and summed.step_number = all_rows.step_number
where summed.users is null or all_rows.users is null or summed.users != all_rows.users

union all

select
    all_rows.funnel_name,
    all_rows.step_number,
    'channels or devices do not add up' as failure
from all_rows
left join channel_sums
    on
        all_rows.funnel_name = channel_sums.funnel_name
        and all_rows.step_number = channel_sums.step_number
left join device_sums
    on
        all_rows.funnel_name = device_sums.funnel_name
        and all_rows.step_number = device_sums.step_number
where
    channel_sums.users is null
    or device_sums.users is null
    or channel_sums.users != all_rows.users
    or device_sums.users != all_rows.users

union all

select
    funnel_name,
    step_number,
    'users increase' as failure
from previous
where users > previous_users

union all

select
    timing.funnel_name,
    timing.step_number,
    'timed chains != users' as failure
from timing
left join all_rows
    on
        timing.funnel_name = all_rows.funnel_name
        and timing.step_number = all_rows.step_number
where all_rows.users is null or timing.chains != all_rows.users

union all

select
    all_rows.funnel_name,
    all_rows.step_number,
    'last step != headline conversion' as failure
from all_rows
inner join last_steps
    on
        all_rows.funnel_name = last_steps.funnel_name
        and all_rows.step_number = last_steps.step_number
left join headline on headline.metric = all_rows.funnel_name || ' funnel conversion'
where
    headline.metric is null
    or abs(all_rows.conversion_from_start - headline.metric_value) > 1e-12
