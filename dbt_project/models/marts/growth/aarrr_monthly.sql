-- The AARRR ("pirate") funnel per UTC month: awareness, acquisition, activation, retention,
-- revenue and referral, for every month from the first with any activity (a touchpoint, a signup
-- or a purchase) to the month of the data cutoff, zero months included. Everything is as of the
-- data cutoff: touchpoints, signups and purchases after it are left out. Ratios are null when the
-- denominator is 0. Awareness reads the daily fact int_actor_days; only the sharing touchpoints
-- are read from int_touchpoints.
{%- set activation_days = 7 %}
{%- set referral_channel = 'referral' %}
{%- set share_touchpoint = 'share' %}

with

actor_days as (
    select * from {{ ref('int_actor_days') }}
),

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

users as (
    select * from {{ ref('int_users') }}
),

purchases as (
    select * from {{ ref('int_purchases') }}
),

customers as (
    select * from {{ ref('int_customer_orders') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

-- the actors active in a month up to the cutoff, from the daily fact (an actor's day counts
-- when its first touchpoint is up to the cutoff; a month's first day, whatever its time)
active_days_as_of_cutoff as (
    select
        actor_days.actor_id,
        cast({{ dbt.date_trunc('month', 'actor_days.activity_date') }} as date) as month
    from actor_days
    cross join cutoff
    where actor_days.first_touchpoint_at <= cutoff.data_cutoff_at
),

-- the sharing touchpoints up to the cutoff: one name, a small part of the touchpoints
shares_as_of_cutoff as (
    select
        touchpoints.actor_id,
        cast({{ dbt.date_trunc('month', 'touchpoints.occurred_at') }} as date) as month
    from touchpoints
    cross join cutoff
    where
        touchpoints.touchpoint = {{ quote_literal(share_touchpoint) }}
        and touchpoints.occurred_at <= cutoff.data_cutoff_at
),

signups as (
    select
        users.user_id,
        cast({{ dbt.date_trunc('month', 'users.signed_up_at') }} as date) as month,
        users.acquisition_channel,
        users.signed_up_at,
        customers.first_order_at
    from users
    cross join cutoff
    left join customers on users.user_id = customers.user_id
    where users.signed_up_at <= cutoff.data_cutoff_at
),

purchases_as_of_cutoff as (
    select
        purchases.user_id,
        purchases.purchase_month as month,
        purchases.revenue,
        customers.cohort_month
    from purchases
    inner join customers on purchases.user_id = customers.user_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

active_months as (
    select
        month,
        count(distinct actor_id) as awareness
    from active_days_as_of_cutoff
    group by month
),

sharing_months as (
    select
        month,
        count(distinct actor_id) as sharing_actors
    from shares_as_of_cutoff
    group by month
),

awareness_months as (
    select
        active_months.month,
        active_months.awareness,
        coalesce(sharing_months.sharing_actors, 0) as sharing_actors
    from active_months
    left join sharing_months on active_months.month = sharing_months.month
),

-- Activated: the first purchase at or after signup and at most exactly 7 days later.
acquisition_months as (
    select
        month,
        count(*) as acquisition,
        sum(case
            when
                first_order_at >= signed_up_at
                and first_order_at <= {{ dbt.dateadd('day', activation_days, 'signed_up_at') }}
                then 1
            else 0
        end) as activation,
        sum(case
            when acquisition_channel = {{ quote_literal(referral_channel) }} then 1 else 0
        end) as referral_signups
    from signups
    group by month
),

-- Retained: a customer whose first purchase was in an earlier month buys again in this month
-- (such a purchase is always a repeat purchase, order_sequence >= 2).
revenue_months as (
    select
        month,
        sum(revenue) as revenue,
        count(distinct user_id) as purchasing_customers,
        count(distinct case when cohort_month < month then user_id end) as retained_customers
    from purchases_as_of_cutoff
    group by month
),

cohort_sizes as (
    select
        cohort_month,
        count(*) as cohort_size
    from customers
    group by cohort_month
),

activity_months as (
    select month from active_days_as_of_cutoff
    union
    select month from signups
    union
    select month from purchases_as_of_cutoff
),

first_month as (
    select min(month) as first_month from activity_months
),

-- 1,200 months (100 years) bounds the grid; the cutoff month ends it.
month_offsets as (
    select n from {{ generate_series(1200) }}
),

months as (
    select
        cast({{ dbt.dateadd('month', 'month_offsets.n', 'first_month.first_month') }} as date)
            as month
    from first_month
    cross join month_offsets
    cross join cutoff
    where
        month_offsets.n
        <= {{ dbt.datediff('first_month.first_month', 'cutoff.data_cutoff_month', 'month') }}
),

customers_before as (
    select
        months.month,
        coalesce(sum(cohort_sizes.cohort_size), 0) as customers_active_before
    from months
    left join cohort_sizes on months.month > cohort_sizes.cohort_month
    group by months.month
),

combined as (
    select
        months.month,
        coalesce(awareness_months.awareness, 0) as awareness,
        coalesce(acquisition_months.acquisition, 0) as acquisition,
        coalesce(acquisition_months.activation, 0) as activation,
        coalesce(revenue_months.retained_customers, 0) as retained_customers,
        customers_before.customers_active_before,
        coalesce(revenue_months.revenue, 0) as revenue,
        coalesce(revenue_months.purchasing_customers, 0) as purchasing_customers,
        coalesce(acquisition_months.referral_signups, 0) as referral_signups,
        coalesce(awareness_months.sharing_actors, 0) as sharing_actors
    from months
    inner join customers_before on months.month = customers_before.month
    left join awareness_months on months.month = awareness_months.month
    left join acquisition_months on months.month = acquisition_months.month
    left join revenue_months on months.month = revenue_months.month
),

final as (
    select
        cast(month as date) as month,
        cast(awareness as {{ dbt.type_bigint() }}) as awareness,
        cast(acquisition as {{ dbt.type_bigint() }}) as acquisition,
        {{ safe_divide('acquisition', 'awareness') }} as acquisition_rate,
        cast(activation as {{ dbt.type_bigint() }}) as activation,
        {{ safe_divide('activation', 'acquisition') }} as activation_rate,
        cast(retained_customers as {{ dbt.type_bigint() }}) as retained_customers,
        cast(customers_active_before as {{ dbt.type_bigint() }}) as customers_active_before,
        {{ safe_divide('retained_customers', 'customers_active_before') }} as retention_rate,
        cast(revenue as decimal(18, 2)) as revenue,
        cast(purchasing_customers as {{ dbt.type_bigint() }}) as purchasing_customers,
        {{ safe_divide('revenue', 'purchasing_customers') }} as revenue_per_customer,
        cast(referral_signups as {{ dbt.type_bigint() }}) as referral_signups,
        cast(sharing_actors as {{ dbt.type_bigint() }}) as sharing_actors,
        {{ safe_divide('referral_signups', 'acquisition') }} as referral_rate
    from combined
)

select * from final
