-- Valid rows of raw.marketing_spend: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_marketing_spend') }}
),

final as (
    select
        spend_date,
        channel,
        campaign,
        spend,
        impressions,
        clicks
    from validated
    where _rejection_reason is null
)

select * from final
