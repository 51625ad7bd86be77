-- Session conversion by local weekday and hour over every device and channel: the cells of
-- context_conversion summed over devices and channels, one row per weekday and hour with
-- sessions. Each row also carries its weekday's and its hour's totals and conversion, over
-- the whole week or day, so a reader compares weekdays and hours without summing.
with

context as (
    select * from {{ ref('context_conversion') }}
),

cells as (
    select
        weekday,
        weekday_name,
        hour_of_day,
        sum(sessions) as sessions,
        sum(converting_sessions) as converting_sessions
    from context
    group by weekday, weekday_name, hour_of_day
),

with_totals as (
    select
        *,
        sum(sessions) over (partition by weekday) as weekday_sessions,
        sum(converting_sessions) over (partition by weekday) as weekday_converting_sessions,
        sum(sessions) over (partition by hour_of_day) as hour_sessions,
        sum(converting_sessions) over (partition by hour_of_day) as hour_converting_sessions
    from cells
),

final as (
    select
        cast(weekday as {{ dbt.type_int() }}) as weekday,
        cast(weekday_name as {{ dbt.type_string() }}) as weekday_name,
        cast(hour_of_day as {{ dbt.type_int() }}) as hour_of_day,
        cast(sessions as {{ dbt.type_bigint() }}) as sessions,
        cast(converting_sessions as {{ dbt.type_bigint() }}) as converting_sessions,
        {{ safe_divide('converting_sessions', 'sessions') }} as conversion_rate,
        cast(weekday_sessions as {{ dbt.type_bigint() }}) as weekday_sessions,
        {{ safe_divide('weekday_converting_sessions', 'weekday_sessions') }}
            as weekday_conversion_rate,
        cast(hour_sessions as {{ dbt.type_bigint() }}) as hour_sessions,
        {{ safe_divide('hour_converting_sessions', 'hour_sessions') }} as hour_conversion_rate
    from with_totals
)

select * from final
