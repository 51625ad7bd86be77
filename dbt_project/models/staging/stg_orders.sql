-- Valid rows of raw.orders: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_orders') }}
),

final as (
    select
        order_id,
        user_id,
        created_at,
        paid_at,
        status,
        amount,
        discount,
        currency
    from validated
    where _rejection_reason is null
)

select * from final
