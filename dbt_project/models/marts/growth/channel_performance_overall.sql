-- Marketing channel performance over the whole period up to the data cutoff, one row per
-- channel: reach and conversion count distinct actors over the period, and the 90-day value is
-- over all of the channel's new customers. Definitions: int_channel_performance ('overall').
with

channel_performance as (
    select * from {{ ref('int_channel_performance') }}
    where period_type = 'overall'
),

final as (
    select
        channel,
        spend,
        impressions,
        clicks,
        ctr,
        new_customers,
        cac,
        reached_actors,
        converted_actors,
        cvr,
        atc,
        revenue,
        roas,
        ltv_90d_revenue,
        ltv_90d_per_new_customer,
        ltv_90d_is_complete,
        ltv_to_cac
    from channel_performance
)

select * from final
