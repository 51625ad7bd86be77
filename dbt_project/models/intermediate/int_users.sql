-- Users who consented to analytics. Every intermediate model and mart starts from here, so a
-- user without consent never appears downstream of staging. Its post-hook adds its new users
-- to int_held_users (the users the daily tables may hold, DECISIONLOG 144).
{{ config(post_hook="{{ hold_users() }}") }}
-- depends_on: {{ ref('int_held_users') }}
with

users as (
    select * from {{ ref('stg_users') }}
),

final as (
    select
        user_id,
        signed_up_at,
        acquisition_channel,
        device_type,
        city
    from users
    where has_analytics_consent
)

select * from final
