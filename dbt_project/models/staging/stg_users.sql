-- Valid rows of raw.users: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_users') }}
),

final as (
    select
        user_id,
        signed_up_at,
        acquisition_channel,
        device_type,
        city,
        email_hash,
        phone_hash,
        has_analytics_consent
    from validated
    where _rejection_reason is null
)

select * from final
