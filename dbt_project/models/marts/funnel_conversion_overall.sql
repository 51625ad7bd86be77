-- Funnel conversion over every entry day: funnel_conversion summed over entry days, for all
-- entries (acquisition_channel and device_type '(all)'), per acquisition channel (device_type
-- '(all)') and per device type (acquisition_channel '(all)'). The rates are those of
-- funnel_conversion, on the summed users: a step's users over the previous step's, and over
-- step 1's.
with

funnel as (
    select * from {{ ref('funnel_conversion') }}
),

all_entries as (
    select
        funnel_name,
        '(all)' as acquisition_channel,
        '(all)' as device_type,
        step_number,
        step_name,
        sum(users) as users
    from funnel
    group by funnel_name, step_number, step_name
),

by_channel as (
    select
        funnel_name,
        acquisition_channel,
        '(all)' as device_type,
        step_number,
        step_name,
        sum(users) as users
    from funnel
    group by funnel_name, acquisition_channel, step_number, step_name
),

by_device as (
    select
        funnel_name,
        '(all)' as acquisition_channel,
        device_type,
        step_number,
        step_name,
        sum(users) as users
    from funnel
    group by funnel_name, device_type, step_number, step_name
),

unioned as (
    select * from all_entries
    union all
    select * from by_channel
    union all
    select * from by_device
),

with_previous as (
    select
        *,
        lag(users) over (
            partition by funnel_name, acquisition_channel, device_type
            order by step_number
        ) as previous_step_users,
        first_value(users) over (
            partition by funnel_name, acquisition_channel, device_type
            order by step_number
        ) as first_step_users
    from unioned
),

with_rates as (
    select
        *,
        case
            when step_number = 1 then cast(1.0 as double)
            else {{ safe_divide('users', 'previous_step_users') }}
        end as conversion_from_previous
    from with_previous
),

final as (
    select
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
        cast(device_type as {{ dbt.type_string() }}) as device_type,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        cast(step_name as {{ dbt.type_string() }}) as step_name,
        cast(users as {{ dbt.type_bigint() }}) as users,
        cast(coalesce(previous_step_users - users, 0) as {{ dbt.type_bigint() }}) as users_lost,
        conversion_from_previous,
        1 - conversion_from_previous as drop_off_from_previous,
        {{ safe_divide('users', 'first_step_users') }} as conversion_from_start
    from with_rates
)

select * from final
