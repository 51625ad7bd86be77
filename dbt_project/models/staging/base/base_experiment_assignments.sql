-- Every raw experiment assignment, typed and validated. An assignment of an unknown user is
-- rejected.
with

source as (
    select * from {{ read_raw('experiment_assignments') }}
),

users as (
    select user_id from {{ ref('stg_users') }}
),

parsed as (
    select
        source.*,
        {{ parse_timestamp('source.assigned_at') }} as assigned_at_utc,
        users.user_id is not null as is_known_user,
        {{ key_occurrence(['source.experiment_id', 'source.user_id']) }} as key_occurrence
    from source
    left join users on source.user_id = users.user_id
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('experiment_id') }} is null
                or {{ blank_to_null('user_id') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when assigned_at_utc is null then 'unparseable timestamp'
            when {{ is_in_future('assigned_at_utc') }} then 'future timestamp'
            when {{ blank_to_null('variant') }} is null then 'missing value'
            when not is_known_user then 'unknown user'
        end as rejection_reason
    from parsed
),

final as (
    select
        experiment_id,
        user_id,
        variant,
        assigned_at_utc as assigned_at,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['experiment_id', 'user_id'],
            ['experiment_id', 'user_id', 'variant', 'assigned_at']
        ) }}
    from validated
)

select * from final
