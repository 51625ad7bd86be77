-- The daily demand series the demand forecast is fitted on (scoring.demand_forecast): one row
-- per UTC day, series and metric, from the first purchase day to the data cutoff day (included,
-- though partial), days without purchases as zeros. Series 'all' counts every purchase; the
-- others split them by the buyer's acquisition channel ('(unknown)' when the user has none).
-- Metrics: 'orders' (purchases) and 'revenue' (amount - discount). Purchases and consent are
-- int_purchases'.
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

users as (
    select * from {{ ref('int_users') }}
),

cutoff as (
    select
        data_cutoff_at,
        cast(data_cutoff_at as date) as data_cutoff_date
    from {{ ref('int_data_cutoff') }}
),

purchases_as_of_cutoff as (
    select
        cast(purchases.purchased_at as date) as history_date,
        coalesce(users.acquisition_channel, '(unknown)') as acquisition_channel,
        purchases.revenue
    from purchases
    inner join users on purchases.user_id = users.user_id
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

by_series as (
    select
        history_date,
        'all' as series,
        revenue
    from purchases_as_of_cutoff
    union all
    select
        history_date,
        acquisition_channel as series,
        revenue
    from purchases_as_of_cutoff
),

daily as (
    select
        history_date,
        series,
        count(*) as orders,
        sum(revenue) as revenue
    from by_series
    group by history_date, series
),

bounds as (
    select
        min(purchases_as_of_cutoff.history_date) as first_date,
        max(cutoff.data_cutoff_date) as last_date
    from purchases_as_of_cutoff
    cross join cutoff
),

-- every day from the first to the cutoff day (macros/analytics.sql)
calendar as (
    {{ calendar_days('bounds', 'history_date') }}
),

series as (
    select distinct series from by_series
),

metrics as (
    select 'orders' as metric
    union all
    select 'revenue' as metric
),

grid as (
    select
        calendar.history_date,
        series.series,
        metrics.metric
    from calendar
    cross join series
    cross join metrics
),

final as (
    select
        grid.history_date,
        grid.series,
        grid.metric,
        cast(coalesce(
            case when grid.metric = 'orders' then daily.orders else daily.revenue end, 0
        ) as double) as value
    from grid
    left join daily
        on grid.history_date = daily.history_date and grid.series = daily.series
)

select * from final
