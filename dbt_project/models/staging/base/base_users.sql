-- Every raw user row, typed and validated; PII is hashed in the first step, as the rows are read.
-- stg_users keeps the valid rows, audit.rejected_rows the others.
with

source as (
    select * from {{ read_raw('users') }}
),

hashed as (
    select
        _source_row_number,
        user_id,
        signed_up_at,
        acquisition_channel,
        device_type,
        city,
        {{ hash_pii(normalize_email('email')) }} as email,
        {{ hash_pii(normalize_phone('phone')) }} as phone,
        consent_analytics
    from source
),

parsed as (
    select
        *,
        {{ parse_timestamp('signed_up_at') }} as signed_up_at_utc,
        {{ parse_boolean('consent_analytics') }} as consent_analytics_flag,
        {{ key_occurrence(['user_id']) }} as key_occurrence
    from hashed
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('user_id') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when signed_up_at_utc is null then 'unparseable timestamp'
            when {{ is_in_future('signed_up_at_utc') }} then 'future timestamp'
            when consent_analytics is not null and consent_analytics_flag is null
                then 'invalid boolean'
        end as rejection_reason
    from parsed
),

final as (
    select
        user_id,
        signed_up_at_utc as signed_up_at,
        acquisition_channel,
        device_type,
        city,
        email as email_hash,
        phone as phone_hash,
        coalesce(consent_analytics_flag, false) as has_analytics_consent,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['user_id'],
            ['user_id', 'signed_up_at', 'acquisition_channel', 'device_type', 'city',
             'email', 'phone', 'consent_analytics']
        ) }}
    from validated
)

select * from final
