-- Marketing channel performance over the whole period up to the data cutoff, one row per
-- channel: the measures of channel_performance with every month pooled. Reach and conversion
-- count distinct actors over the period (an actor reached in two months counts once), and the
-- 90-day value is over all of the channel's new customers.
{%- set conversion_touchpoint = var('conversion_touchpoint') %}

with

spend as (
    select * from {{ ref('stg_marketing_spend') }}
),

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

purchases as (
    select * from {{ ref('int_purchases') }}
),

customers as (
    select * from {{ ref('int_customer_ltv_90d') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

spend_channels as (
    select
        spend.channel,
        sum(spend.spend) as spend,
        sum(coalesce(spend.impressions, 0)) as impressions,
        sum(coalesce(spend.clicks, 0)) as clicks
    from spend
    cross join cutoff
    where spend.spend_date <= cast(cutoff.data_cutoff_at as date)
    group by spend.channel
),

touchpoints_as_of_cutoff as (
    select
        touchpoints.actor_id,
        coalesce(touchpoints.channel, '(unknown)') as channel,
        touchpoints.touchpoint
    from touchpoints
    cross join cutoff
    where touchpoints.occurred_at <= cutoff.data_cutoff_at
),

reached as (
    select distinct
        actor_id,
        channel
    from touchpoints_as_of_cutoff
),

converted as (
    select distinct actor_id
    from touchpoints_as_of_cutoff
    where touchpoint = {{ quote_literal(conversion_touchpoint) }}
),

reach_channels as (
    select
        reached.channel,
        count(*) as reached_actors,
        count(converted.actor_id) as converted_actors
    from reached
    left join converted on reached.actor_id = converted.actor_id
    group by reached.channel
),

acquisition_channels as (
    select
        acquisition_channel as channel,
        count(*) as new_customers,
        sum(ltv_90d_revenue) as ltv_90d_revenue,
        max(cohort_month) as last_cohort_month
    from customers
    group by acquisition_channel
),

revenue_channels as (
    select
        customers.acquisition_channel as channel,
        sum(purchases.revenue) as revenue
    from purchases
    inner join customers on purchases.user_id = customers.user_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
    group by customers.acquisition_channel
),

channels as (
    select channel from spend_channels
    union
    select channel from reach_channels
    union
    select channel from acquisition_channels
    union
    select channel from revenue_channels
),

combined as (
    select
        channels.channel,
        coalesce(spend_channels.spend, 0) as spend,
        coalesce(spend_channels.impressions, 0) as impressions,
        coalesce(spend_channels.clicks, 0) as clicks,
        coalesce(acquisition_channels.new_customers, 0) as new_customers,
        coalesce(reach_channels.reached_actors, 0) as reached_actors,
        coalesce(reach_channels.converted_actors, 0) as converted_actors,
        coalesce(revenue_channels.revenue, 0) as revenue,
        coalesce(acquisition_channels.ltv_90d_revenue, 0) as ltv_90d_revenue,
        -- The latest first-purchase month's last day + 90 days: every window has closed.
        cast(
            {{ dbt.dateadd(
                'day', 89, dbt.dateadd('month', 1, 'acquisition_channels.last_cohort_month')
            ) }} as date
        ) <= cast(cutoff.data_cutoff_at as date) as ltv_90d_is_complete
    from channels
    cross join cutoff
    left join spend_channels on channels.channel = spend_channels.channel
    left join reach_channels on channels.channel = reach_channels.channel
    left join acquisition_channels on channels.channel = acquisition_channels.channel
    left join revenue_channels on channels.channel = revenue_channels.channel
),

measured as (
    select
        *,
        {{ safe_divide('spend', 'new_customers') }} as cac,
        {{ safe_divide('ltv_90d_revenue', 'new_customers') }} as ltv_90d_per_new_customer
    from combined
),

final as (
    select
        cast(channel as {{ dbt.type_string() }}) as channel,
        cast(spend as decimal(18, 2)) as spend,
        cast(impressions as {{ dbt.type_bigint() }}) as impressions,
        cast(clicks as {{ dbt.type_bigint() }}) as clicks,
        {{ safe_divide('clicks', 'impressions') }} as ctr,
        cast(new_customers as {{ dbt.type_bigint() }}) as new_customers,
        cac,
        cast(reached_actors as {{ dbt.type_bigint() }}) as reached_actors,
        cast(converted_actors as {{ dbt.type_bigint() }}) as converted_actors,
        {{ safe_divide('converted_actors', 'reached_actors') }} as cvr,
        {{ safe_divide('spend', 'converted_actors') }} as atc,
        cast(revenue as decimal(18, 2)) as revenue,
        {{ safe_divide('revenue', 'spend') }} as roas,
        cast(ltv_90d_revenue as decimal(18, 2)) as ltv_90d_revenue,
        ltv_90d_per_new_customer,
        ltv_90d_is_complete,
        {{ safe_divide('ltv_90d_per_new_customer', 'cac') }} as ltv_to_cac
    from measured
)

select * from final
