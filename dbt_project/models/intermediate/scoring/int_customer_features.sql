-- Churn and cluster features: one row per customer and churn snapshot (int_churn_snapshots).
-- A customer of a snapshot is a consenting user with a purchase up to its as_of_at. Every
-- feature uses data up to as_of_at only (tests/scenarios/test_scoring_leakage.py proves it by appending
-- poison after the cutoff); only the label looks past it:
--   churned = no purchase in (as_of_at, label_ends_at], null for the 'score' snapshot.
-- Touchpoint counts come from int_customer_touchpoint_counts (logged-in touchpoints only);
-- sessions are the user's own sessions that started in the window.
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

users as (
    select * from {{ ref('int_users') }}
),

sessions as (
    select * from {{ ref('int_sessions') }}
),

nps_responses as (
    select * from {{ ref('stg_nps_responses') }}
),

touchpoint_counts as (
    select * from {{ ref('int_customer_touchpoint_counts') }}
),

snapshots as (
    select * from {{ ref('int_churn_snapshots') }}
),

purchases_as_of_cutoff as (
    select purchases.*
    from purchases
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

order_history as (
    select
        snapshots.snapshot,
        purchases_as_of_cutoff.user_id,
        count(*) as frequency,
        sum(purchases_as_of_cutoff.revenue) as monetary,
        min(purchases_as_of_cutoff.purchased_at) as first_purchased_at,
        max(purchases_as_of_cutoff.purchased_at) as last_purchased_at
    from purchases_as_of_cutoff
    inner join snapshots on purchases_as_of_cutoff.purchased_at <= snapshots.as_of_at
    group by snapshots.snapshot, purchases_as_of_cutoff.user_id
),

future_purchases as (
    select
        snapshots.snapshot,
        purchases_as_of_cutoff.user_id,
        count(*) as purchases_in_horizon
    from purchases_as_of_cutoff
    inner join snapshots
        on
            purchases_as_of_cutoff.purchased_at > snapshots.as_of_at
            and purchases_as_of_cutoff.purchased_at <= snapshots.label_ends_at
    group by snapshots.snapshot, purchases_as_of_cutoff.user_id
),

-- the users with a purchase up to the cutoff: only they get features, so only their sessions
-- are counted (at 50M, 4.7M of the 10.1M sessions of users; DECISIONLOG 128)
customers as (
    select distinct user_id from purchases_as_of_cutoff
),

-- every customer with every snapshot: the sessions are joined on the user, then kept in the
-- snapshot's window by a filter. A range join with the snapshots alone sorted the customers'
-- sessions (at 50M 3.1 of the model's CPU-s; DECISIONLOG 143)
customer_snapshots as (
    select
        customers.user_id,
        snapshots.snapshot,
        snapshots.as_of_at
    from customers
    cross join snapshots
),

session_activity as (
    select
        snapshots.snapshot,
        sessions.user_id,
        -- bigint, not DuckDB's HUGEINT sum (Decimal objects in Python): also below
        cast(sum(
            case
                when sessions.started_at > {{ dbt.dateadd('day', -30, 'snapshots.as_of_at') }}
                    then 1
                else 0
            end
        ) as {{ dbt.type_bigint() }}) as sessions_30d,
        count(*) as sessions_90d
    from sessions
    inner join customer_snapshots as snapshots
        on
            sessions.user_id = snapshots.user_id
            and sessions.started_at <= snapshots.as_of_at
            and sessions.started_at > {{ dbt.dateadd('day', -90, 'snapshots.as_of_at') }}
    where not sessions.is_anonymous_actor
    group by snapshots.snapshot, sessions.user_id
),

touchpoint_totals as (
    select
        snapshot,
        user_id,
        cast(sum(touchpoints_30d) as {{ dbt.type_bigint() }}) as touchpoints_30d,
        cast(sum(touchpoints_90d) as {{ dbt.type_bigint() }}) as touchpoints_90d
    from touchpoint_counts
    group by snapshot, user_id
),

ranked_nps as (
    select
        snapshots.snapshot,
        nps_responses.user_id,
        nps_responses.score,
        row_number() over (
            partition by snapshots.snapshot, nps_responses.user_id
            order by nps_responses.responded_at desc, nps_responses.response_id desc
        ) as recency_rank
    from nps_responses
    inner join snapshots on nps_responses.responded_at <= snapshots.as_of_at
),

latest_nps as (
    select
        snapshot,
        user_id,
        score as latest_nps_score
    from ranked_nps
    where recency_rank = 1
),

final as (
    select
        order_history.user_id,
        order_history.snapshot,
        snapshots.as_of_at,
        snapshots.label_ends_at,
        order_history.frequency,
        order_history.monetary,
        order_history.monetary / order_history.frequency as avg_order_value,
        {{ dbt.datediff('order_history.last_purchased_at', 'snapshots.as_of_at', 'day') }}
            as recency_days,
        {{ dbt.datediff('order_history.first_purchased_at', 'snapshots.as_of_at', 'day') }}
            as days_since_first_purchase,
        {{ dbt.datediff(
            'coalesce(users.signed_up_at, order_history.first_purchased_at)',
            'snapshots.as_of_at',
            'day'
        ) }} as tenure_days,
        coalesce(session_activity.sessions_30d, 0) as sessions_30d,
        coalesce(session_activity.sessions_90d, 0) as sessions_90d,
        coalesce(touchpoint_totals.touchpoints_30d, 0) as touchpoints_30d,
        coalesce(touchpoint_totals.touchpoints_90d, 0) as touchpoints_90d,
        latest_nps.latest_nps_score,
        users.device_type,
        coalesce(users.device_type = 'mobile', false) as is_mobile,
        case
            when order_history.snapshot != {{ label('churn_snapshots', 'score') }}
                then coalesce(future_purchases.purchases_in_horizon, 0)
        end as purchases_in_horizon,
        case
            when order_history.snapshot != {{ label('churn_snapshots', 'score') }}
                then coalesce(future_purchases.purchases_in_horizon, 0) = 0
        end as churned
    from order_history
    inner join snapshots on order_history.snapshot = snapshots.snapshot
    inner join users on order_history.user_id = users.user_id
    left join future_purchases
        on
            order_history.snapshot = future_purchases.snapshot
            and order_history.user_id = future_purchases.user_id
    left join session_activity
        on
            order_history.snapshot = session_activity.snapshot
            and order_history.user_id = session_activity.user_id
    left join touchpoint_totals
        on
            order_history.snapshot = touchpoint_totals.snapshot
            and order_history.user_id = touchpoint_totals.user_id
    left join latest_nps
        on
            order_history.snapshot = latest_nps.snapshot
            and order_history.user_id = latest_nps.user_id
)

select * from final
