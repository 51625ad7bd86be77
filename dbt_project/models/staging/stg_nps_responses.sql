-- Valid rows of raw.nps_responses: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_nps_responses') }}
),

final as (
    select
        response_id,
        user_id,
        responded_at,
        score,
        comment
    from validated
    where _rejection_reason is null
)

select * from final
