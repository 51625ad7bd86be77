-- Funnel invariant: within a funnel, day, channel and device, no step has more users than the
-- step before it, and step 1 counts every entry of int_funnel_chains.
with

funnel as (
    select
        *,
        lag(users) over (
            partition by funnel_name, entry_date, acquisition_channel, device_type
            order by step_number
        ) as previous_users
    from {{ ref('funnel_conversion') }}
),

entries as (
    select
        funnel_name,
        count(*) as entries
    from {{ ref('int_funnel_chains') }}
    where step_number = 1
    group by funnel_name
),

step_1 as (
    select
        funnel_name,
        sum(users) as users
    from {{ ref('funnel_conversion') }}
    where step_number = 1
    group by funnel_name
)

select
    funnel_name,
    'users increase' as failure
from funnel
where users > previous_users

union all

select
    entries.funnel_name,
    'step 1 != entries' as failure
from entries
full outer join step_1 on entries.funnel_name = step_1.funnel_name
where entries.entries != step_1.users or entries.entries is null or step_1.users is null
