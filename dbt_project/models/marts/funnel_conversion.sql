-- Funnel conversion by entry day, acquisition channel and device. An (actor, entry day) pair
-- counts in `users` for every step up to its level; actors are stitched identities, so a user's
-- touchpoints before login count, and devices that never log in count as '(anonymous)'. Every
-- step has a row, zero included, for each entry day x channel x device that has an entry.
with

chains as (
    select * from {{ ref('int_funnel_chains') }}
),

funnel_steps as (
    select * from {{ ref('int_funnel_steps') }}
),

users as (
    select * from {{ ref('int_users') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

chains_with_segment as (
    select
        chains.*,
        case
            when users.user_id is null then '(anonymous)'
            else coalesce(users.acquisition_channel, '(unknown)')
        end as acquisition_channel,
        case
            when users.user_id is null then '(anonymous)'
            else coalesce(users.device_type, '(unknown)')
        end as device_type
    from chains
    left join users on chains.actor_id = users.user_id
),

segments as (
    select distinct
        funnel_name,
        entry_date,
        acquisition_channel,
        device_type
    from chains_with_segment
),

grid as (
    select
        segments.*,
        funnel_steps.step_number,
        funnel_steps.step_name,
        funnel_steps.window_seconds
    from segments
    inner join funnel_steps on segments.funnel_name = funnel_steps.funnel_name
),

reached as (
    select
        funnel_name,
        entry_date,
        acquisition_channel,
        device_type,
        step_number,
        count(*) as users,
        {{ median('seconds_from_entry') }} as median_seconds_from_entry
    from chains_with_segment
    group by funnel_name, entry_date, acquisition_channel, device_type, step_number
),

counted as (
    select
        grid.funnel_name,
        grid.entry_date,
        grid.acquisition_channel,
        grid.device_type,
        grid.step_number,
        grid.step_name,
        grid.window_seconds,
        coalesce(reached.users, 0) as users,
        reached.median_seconds_from_entry
    from grid
    left join reached
        on
            grid.funnel_name = reached.funnel_name
            and grid.entry_date = reached.entry_date
            and grid.acquisition_channel = reached.acquisition_channel
            and grid.device_type = reached.device_type
            and grid.step_number = reached.step_number
),

with_rates as (
    select
        *,
        lag(users) over (
            partition by funnel_name, entry_date, acquisition_channel, device_type
            order by step_number
        ) as previous_step_users,
        first_value(users) over (
            partition by funnel_name, entry_date, acquisition_channel, device_type
            order by step_number
        ) as first_step_users
    from counted
),

final as (
    select
        cast(with_rates.funnel_name as {{ dbt.type_string() }}) as funnel_name,
        with_rates.entry_date,
        cast(with_rates.acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
        cast(with_rates.device_type as {{ dbt.type_string() }}) as device_type,
        cast(with_rates.step_number as {{ dbt.type_int() }}) as step_number,
        cast(with_rates.step_name as {{ dbt.type_string() }}) as step_name,
        cast(with_rates.users as {{ dbt.type_bigint() }}) as users,
        case
            when with_rates.step_number = 1 then cast(1.0 as double)
            else {{ safe_divide('with_rates.users', 'with_rates.previous_step_users') }}
        end as conversion_from_previous,
        {{ safe_divide('with_rates.users', 'with_rates.first_step_users') }}
            as conversion_from_start,
        cast(with_rates.median_seconds_from_entry as double) as median_seconds_from_entry,
        {{ dbt.dateadd(
            'second',
            'with_rates.window_seconds',
            dbt.dateadd('day', 1, 'cast(with_rates.entry_date as ' ~ dbt.type_timestamp() ~ ')')
        ) }} <= cutoff.data_cutoff_at as is_final
    from with_rates
    cross join cutoff
)

select * from final
