-- Touchpoint value per UTC month: reach among payment converters and abandoners, abandoner lift,
-- dwell and conversion with and without the touchpoint. The definitions live in
-- int_touchpoint_value (shared with touchpoint_value_overall).
with

touchpoint_value as (
    select * from {{ ref('int_touchpoint_value') }}
    where period_type = 'month'
),

final as (
    select
        touchpoint,
        cast(period_start as date) as month,
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
