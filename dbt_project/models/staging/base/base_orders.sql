-- Every raw order row, typed and validated. An order of an unknown user (not a staged user)
-- is rejected, so the orders check reads stg_users.
with

source as (
    select * from {{ read_raw('orders') }}
),

users as (
    select user_id from {{ ref('stg_users') }}
),

parsed as (
    select
        source.*,
        {{ parse_timestamp('source.created_at') }} as created_at_utc,
        {{ parse_timestamp('source.paid_at') }} as paid_at_utc,
        lower(trim(source.status)) as status_normalized,
        {{ parse_money('source.amount') }} as amount_value,
        {{ parse_money('source.discount') }} as discount_value,
        users.user_id is not null as is_known_user,
        {{ key_occurrence(['source.order_id']) }} as key_occurrence
    from source
    left join users on source.user_id = users.user_id
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('order_id') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when created_at_utc is null then 'unparseable timestamp'
            when paid_at is not null and paid_at_utc is null then 'unparseable timestamp'
            when {{ is_in_future('created_at_utc') }} then 'future timestamp'
            when {{ is_in_future('paid_at_utc') }} then 'future timestamp'
            when amount_value is null then 'unparseable number'
            when discount is not null and discount_value is null then 'unparseable number'
            when amount_value < 0 or discount_value < 0 then 'negative amount'
            when status_normalized is null or status_normalized = '' then 'missing value'
            when status_normalized not in (
                    'pending', 'paid', 'shipped', 'delivered', 'cancelled', 'refunded'
                ) then 'unknown status'
            when not is_known_user then 'unknown user'
        end as rejection_reason
    from parsed
),

final as (
    select
        order_id,
        user_id,
        created_at_utc as created_at,
        paid_at_utc as paid_at,
        status_normalized as status,
        amount_value as amount,
        coalesce(discount_value, 0) as discount,
        upper(trim(currency)) as currency,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['order_id'],
            ['order_id', 'user_id', 'created_at', 'paid_at', 'status', 'amount', 'discount',
             'currency']
        ) }}
    from validated
)

select * from final
