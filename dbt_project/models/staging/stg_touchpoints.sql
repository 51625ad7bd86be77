-- Valid rows of raw.touchpoints: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_touchpoints') }}
),

final as (
    select
        touchpoint_id,
        _source_row_number as touchpoint_key,
        user_id,
        anonymous_id,
        occurred_at,
        touchpoint,
        channel,
        campaign,
        page,
        dwell_ms,
        properties,
        properties_is_valid_json
    from validated
    where _rejection_reason is null
)

select * from final
