-- Marketing channel performance per UTC month: spend and its efficiency (CTR, CAC, ATC, ROAS),
-- reach and conversion of actors, and the 90-day value of the month's new customers.
-- Channels are the union of spend channels, users' acquisition channels and touchpoint channels
-- (a missing one is '(unknown)'); a (month, channel) has a row when it has spend, a new customer,
-- a reached actor or revenue. Everything is as of the data cutoff: touchpoints and purchases
-- after it, and spend of later days, are left out. Ratios are null when the denominator is 0.
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

spend_as_of_cutoff as (
    select
        cast({{ dbt.date_trunc('month', 'spend.spend_date') }} as date) as month,
        spend.channel,
        spend.spend,
        spend.impressions,
        spend.clicks
    from spend
    cross join cutoff
    where spend.spend_date <= cast(cutoff.data_cutoff_at as date)
),

spend_months as (
    select
        month,
        channel,
        sum(spend) as spend,
        sum(coalesce(impressions, 0)) as impressions,
        sum(coalesce(clicks, 0)) as clicks
    from spend_as_of_cutoff
    group by month, channel
),

touchpoints_as_of_cutoff as (
    select
        touchpoints.actor_id,
        cast({{ dbt.date_trunc('month', 'touchpoints.occurred_at') }} as date) as month,
        coalesce(touchpoints.channel, '(unknown)') as channel,
        touchpoints.touchpoint
    from touchpoints
    cross join cutoff
    where touchpoints.occurred_at <= cutoff.data_cutoff_at
),

reached as (
    select distinct
        actor_id,
        month,
        channel
    from touchpoints_as_of_cutoff
),

converted as (
    select distinct
        actor_id,
        month
    from touchpoints_as_of_cutoff
    where touchpoint = {{ quote_literal(conversion_touchpoint) }}
),

reach_months as (
    select
        reached.month,
        reached.channel,
        count(*) as reached_actors,
        count(converted.actor_id) as converted_actors
    from reached
    left join converted
        on
            reached.actor_id = converted.actor_id
            and reached.month = converted.month
    group by reached.month, reached.channel
),

acquisition_months as (
    select
        cohort_month as month,
        acquisition_channel as channel,
        count(*) as new_customers,
        sum(ltv_90d_revenue) as ltv_90d_revenue
    from customers
    group by cohort_month, acquisition_channel
),

revenue_months as (
    select
        purchases.purchase_month as month,
        customers.acquisition_channel as channel,
        sum(purchases.revenue) as revenue
    from purchases
    inner join customers on purchases.user_id = customers.user_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
    group by purchases.purchase_month, customers.acquisition_channel
),

month_channels as (
    select
        month,
        channel
    from spend_months
    union
    select
        month,
        channel
    from reach_months
    union
    select
        month,
        channel
    from acquisition_months
    union
    select
        month,
        channel
    from revenue_months
),

combined as (
    select
        month_channels.month,
        month_channels.channel,
        coalesce(spend_months.spend, 0) as spend,
        coalesce(spend_months.impressions, 0) as impressions,
        coalesce(spend_months.clicks, 0) as clicks,
        coalesce(acquisition_months.new_customers, 0) as new_customers,
        coalesce(reach_months.reached_actors, 0) as reached_actors,
        coalesce(reach_months.converted_actors, 0) as converted_actors,
        coalesce(revenue_months.revenue, 0) as revenue,
        coalesce(acquisition_months.ltv_90d_revenue, 0) as ltv_90d_revenue,
        -- The month's last day + 90 days: the last new customer's window has closed by then.
        cast(
            {{ dbt.dateadd('day', 89, dbt.dateadd('month', 1, 'month_channels.month')) }} as date
        ) <= cast(cutoff.data_cutoff_at as date) as ltv_90d_is_complete
    from month_channels
    cross join cutoff
    left join spend_months
        on
            month_channels.month = spend_months.month
            and month_channels.channel = spend_months.channel
    left join reach_months
        on
            month_channels.month = reach_months.month
            and month_channels.channel = reach_months.channel
    left join acquisition_months
        on
            month_channels.month = acquisition_months.month
            and month_channels.channel = acquisition_months.channel
    left join revenue_months
        on
            month_channels.month = revenue_months.month
            and month_channels.channel = revenue_months.channel
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
        cast(month as date) as month,
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
