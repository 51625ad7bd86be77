-- Touchpoint value over the whole data: the columns of touchpoint_value without the month, with
-- converter and abandoner status over the whole period (int_touchpoint_value, 'overall').
with

touchpoint_value as (
    select * from {{ ref('int_touchpoint_value') }}
    where period_type = 'overall'
),

final as (
    select
        touchpoint,
        actors_reached,
        converters_reached,
        abandoners_reached,
        share_of_converters,
        share_of_abandoners,
        abandoner_lift,
        median_dwell_ms,
        conversion_rate_with,
        conversion_rate_without
    from touchpoint_value
)

select * from final
