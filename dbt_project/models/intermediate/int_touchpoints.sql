-- Touchpoints of consenting, known users. Anonymous touchpoints (no user_id) and touchpoints of
-- unknown users are left out here.
with

touchpoints as (
    select * from {{ ref('stg_touchpoints') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

final as (
    select
        touchpoints.touchpoint_id,
        touchpoints.user_id,
        touchpoints.anonymous_id,
        touchpoints.occurred_at,
        touchpoints.touchpoint,
        touchpoints.channel,
        touchpoints.campaign,
        touchpoints.page,
        touchpoints.dwell_ms,
        touchpoints.properties,
        touchpoints.properties_is_valid_json
    from touchpoints
    inner join users on touchpoints.user_id = users.user_id
)

select * from final
