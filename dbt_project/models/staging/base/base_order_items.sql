-- Every raw order line, typed and validated. A line of an unknown order (not a staged order)
-- is rejected.
with

source as (
    select * from {{ read_raw('order_items') }}
),

orders as (
    select order_id from {{ ref('stg_orders') }}
),

parsed as (
    select
        source.*,
        {{ parse_integer('source.line_number') }} as line_number_value,
        {{ parse_integer('source.quantity') }} as quantity_value,
        {{ parse_money('source.unit_price') }} as unit_price_value,
        orders.order_id is not null as is_known_order,
        {{ key_occurrence(['source.order_id', 'source.line_number']) }} as key_occurrence
    from source
    left join orders on source.order_id = orders.order_id
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('order_id') }} is null
                or {{ blank_to_null('line_number') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when line_number_value is null
                or quantity_value is null
                or unit_price_value is null then 'unparseable number'
            when quantity_value < 0 or unit_price_value < 0 then 'negative amount'
            when not is_known_order then 'unknown order'
        end as rejection_reason
    from parsed
),

final as (
    select
        order_id,
        line_number_value as line_number,
        product_id,
        category,
        quantity_value as quantity,
        unit_price_value as unit_price,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['order_id', 'line_number'],
            ['order_id', 'line_number', 'product_id', 'category', 'quantity', 'unit_price']
        ) }}
    from validated
)

select * from final
