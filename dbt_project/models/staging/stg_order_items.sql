-- Valid rows of raw.order_items: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_order_items') }}
),

final as (
    select
        order_id,
        line_number,
        product_id,
        category,
        quantity,
        unit_price
    from validated
    where _rejection_reason is null
)

select * from final
