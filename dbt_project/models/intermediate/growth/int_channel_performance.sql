-- Marketing channel performance per period, for two period types that share one definition:
-- 'month' (UTC calendar months) and 'overall' (the whole data up to the cutoff; its
-- period_start is the first month with any fact). marts.channel_performance and
-- marts.channel_performance_overall select one period type each, so they cannot drift apart.
--
-- Channels are the union of spend channels, users' acquisition channels and touchpoint channels
-- (a missing one is '(unknown)'); a (period, channel) has a row when it has spend, a new
-- customer, a reached actor or revenue. Spend counts by spend date; reach by the touchpoint's own
-- channel, and an actor counts once per period however often they were reached; new customers,
-- revenue and 90-day LTV by the customer's acquisition channel. Everything is as of the data
-- cutoff: touchpoints and purchases after it, and spend of later days, are left out. Ratios are
-- null when the denominator is 0. Reach reads the daily fact int_actor_channel_months (first
-- times by actor, month and channel), never the touchpoints.
{%- set period_start = "case when periods.period_type = 'month' then facts.month "
    ~ "else first_month.month end" %}

with

spend as (
    select * from {{ ref('stg_marketing_spend') }}
),

actor_channel_months as (
    select * from {{ ref('int_actor_channel_months') }}
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

periods as (
    select 'month' as period_type
    union all
    select 'overall' as period_type
),

spend_facts as (
    select
        cast({{ dbt.date_trunc('month', 'spend.spend_date') }} as date) as month,
        spend.channel,
        spend.spend,
        coalesce(spend.impressions, 0) as impressions,
        coalesce(spend.clicks, 0) as clicks
    from spend
    cross join cutoff
    where spend.spend_date <= cast(cutoff.data_cutoff_at as date)
),

-- an actor x month x channel reached up to the cutoff, converted when its first conversion
-- touchpoint is up to the cutoff too (int_actor_channel_months: first times, all history)
touch_facts as (
    select
        reach.actor_id,
        reach.month_start as month,
        reach.channel,
        coalesce(reach.first_conversion_at <= cutoff.data_cutoff_at, false) as is_conversion
    from actor_channel_months as reach
    cross join cutoff
    where reach.first_touchpoint_at <= cutoff.data_cutoff_at
),

acquisition_facts as (
    select
        cohort_month as month,
        acquisition_channel as channel,
        ltv_90d_revenue
    from customers
),

revenue_facts as (
    select
        purchases.purchase_month as month,
        customers.acquisition_channel as channel,
        purchases.revenue
    from purchases
    inner join customers on purchases.user_id = customers.user_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

first_month as (
    select min(month) as month
    from (
        select month from spend_facts
        union all
        select month from touch_facts
        union all
        select month from acquisition_facts
        union all
        select month from revenue_facts
    ) as fact_months
),

spend_periods as (
    select
        periods.period_type,
        {{ period_start }} as period_start,
        facts.channel,
        sum(facts.spend) as spend,
        sum(facts.impressions) as impressions,
        sum(facts.clicks) as clicks
    from spend_facts as facts
    cross join periods
    cross join first_month
    group by periods.period_type, {{ period_start }}, facts.channel
),

-- Reach per period type in a pass of its own, keyed by the actor and month alone, not by the
-- period type's text as well (DECISIONLOG 129). A month's reached actors are the fact's rows
-- (unique by actor, month and channel); the whole data's are its distinct actors and channels.
month_conversions as (
    select
        actor_id,
        month,
        max(case when is_conversion then 1 else 0 end) as is_converted
    from touch_facts
    group by actor_id, month
),

overall_conversions as (
    select distinct actor_id
    from touch_facts
    where is_conversion
),

reach_periods as (
    select
        'month' as period_type,
        facts.month as period_start,
        facts.channel,
        count(*) as reached_actors,
        sum(status.is_converted) as converted_actors
    from touch_facts as facts
    inner join month_conversions as status
        on
            facts.actor_id = status.actor_id
            and facts.month = status.month
    group by facts.month, facts.channel

    union all

    select
        'overall' as period_type,
        first_month.month as period_start,
        reached.channel,
        count(*) as reached_actors,
        count(converted.actor_id) as converted_actors
    from (
        select distinct
            actor_id,
            channel
        from touch_facts
    ) as reached
    left join overall_conversions as converted on reached.actor_id = converted.actor_id
    cross join first_month
    group by first_month.month, reached.channel
),

acquisition_periods as (
    select
        periods.period_type,
        {{ period_start }} as period_start,
        facts.channel,
        count(*) as new_customers,
        sum(facts.ltv_90d_revenue) as ltv_90d_revenue,
        max(facts.month) as last_cohort_month
    from acquisition_facts as facts
    cross join periods
    cross join first_month
    group by periods.period_type, {{ period_start }}, facts.channel
),

revenue_periods as (
    select
        periods.period_type,
        {{ period_start }} as period_start,
        facts.channel,
        sum(facts.revenue) as revenue
    from revenue_facts as facts
    cross join periods
    cross join first_month
    group by periods.period_type, {{ period_start }}, facts.channel
),

period_channels as (
    select
        period_type,
        period_start,
        channel
    from spend_periods
    union
    select
        period_type,
        period_start,
        channel
    from reach_periods
    union
    select
        period_type,
        period_start,
        channel
    from acquisition_periods
    union
    select
        period_type,
        period_start,
        channel
    from revenue_periods
),

combined as (
    select
        period_channels.period_type,
        period_channels.period_start,
        period_channels.channel,
        coalesce(spend_periods.spend, 0) as spend,
        coalesce(spend_periods.impressions, 0) as impressions,
        coalesce(spend_periods.clicks, 0) as clicks,
        coalesce(acquisition_periods.new_customers, 0) as new_customers,
        coalesce(reach_periods.reached_actors, 0) as reached_actors,
        coalesce(reach_periods.converted_actors, 0) as converted_actors,
        coalesce(revenue_periods.revenue, 0) as revenue,
        coalesce(acquisition_periods.ltv_90d_revenue, 0) as ltv_90d_revenue,
        -- The 90-day windows have all closed once the last day of the (latest) first-purchase
        -- month + 90 days has passed: for a month, that month; overall, the latest cohort month
        -- of the channel's new customers (null without new customers).
        case
            when period_channels.period_type = 'month' then period_channels.period_start
            else acquisition_periods.last_cohort_month
        end as ltv_window_month
    from period_channels
    left join spend_periods
        on
            period_channels.period_type = spend_periods.period_type
            and period_channels.period_start = spend_periods.period_start
            and period_channels.channel = spend_periods.channel
    left join reach_periods
        on
            period_channels.period_type = reach_periods.period_type
            and period_channels.period_start = reach_periods.period_start
            and period_channels.channel = reach_periods.channel
    left join acquisition_periods
        on
            period_channels.period_type = acquisition_periods.period_type
            and period_channels.period_start = acquisition_periods.period_start
            and period_channels.channel = acquisition_periods.channel
    left join revenue_periods
        on
            period_channels.period_type = revenue_periods.period_type
            and period_channels.period_start = revenue_periods.period_start
            and period_channels.channel = revenue_periods.channel
),

measured as (
    select
        combined.*,
        {{ safe_divide('combined.spend', 'combined.new_customers') }} as cac,
        {{ safe_divide('combined.ltv_90d_revenue', 'combined.new_customers') }}
            as ltv_90d_per_new_customer,
        cast(
            {{ dbt.dateadd('day', 89, dbt.dateadd('month', 1, 'combined.ltv_window_month')) }}
            as date
        ) <= cast(cutoff.data_cutoff_at as date) as ltv_90d_is_complete
    from combined
    cross join cutoff
),

final as (
    select
        cast(period_type as {{ dbt.type_string() }}) as period_type,
        cast(period_start as date) as period_start,
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
