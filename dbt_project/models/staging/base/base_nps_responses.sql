-- Every raw NPS response, typed and validated. A response of an unknown user is rejected.
with

source as (
    select * from {{ read_raw('nps_responses') }}
),

users as (
    select user_id from {{ ref('stg_users') }}
),

parsed as (
    select
        source.*,
        {{ parse_timestamp('source.responded_at') }} as responded_at_utc,
        {{ try_cast_to('trim(source.score)', 'decimal(38, 6)') }} as score_value,
        users.user_id is not null as is_known_user,
        {{ key_occurrence(['source.response_id']) }} as key_occurrence
    from source
    left join users on source.user_id = users.user_id
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('response_id') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when responded_at_utc is null then 'unparseable timestamp'
            when {{ is_in_future('responded_at_utc') }} then 'future timestamp'
            when score_value is null then 'unparseable number'
            when score_value < 0 or score_value > 10 or score_value != floor(score_value)
                then 'score out of range'
            when not is_known_user then 'unknown user'
        end as rejection_reason
    from parsed
),

final as (
    select
        response_id,
        user_id,
        responded_at_utc as responded_at,
        cast(score_value as {{ dbt.type_int() }}) as score,
        comment,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['response_id'],
            ['response_id', 'user_id', 'responded_at', 'score', 'comment']
        ) }}
    from validated
)

select * from final
