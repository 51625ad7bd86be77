-- funnel_conversion_overall and funnel_step_timing agree with funnel_conversion: the '(all)'
-- rows sum funnel_conversion over every entry day, the channel rows and the device rows each add
-- up to them, users never increase from step to step, and every timed step was reached by as
-- many chains as it has users. (headline_metrics is built after the scores, in another dbt
-- step, so a test here cannot read it: tests/warehouse/test_report.py compares the headline conversion.)
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
