-- Marketing channel performance per UTC month: spend and its efficiency (CTR, CAC, ATC, ROAS),
-- reach and conversion of actors, and the 90-day value of the month's new customers. The
-- definitions live in int_channel_performance, shared with channel_performance_overall.
with

channel_performance as (
    select * from {{ ref('int_channel_performance') }}
    where period_type = 'month'
),

final as (
    select
        period_start as month,
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
