-- One row per customer and UTC day with a purchase, up to the data cutoff: the transaction log
-- the CLV models (BG/NBD and Gamma-Gamma) read. Same-day purchases are merged into one, because
-- those models count purchase occasions, not orders. observation_end_date is the UTC date of the
-- data cutoff: T (customer age) is measured to it, never to the wall clock.
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

purchases_as_of_cutoff as (
    select
        purchases.user_id,
        cast(purchases.purchased_at as date) as purchase_date,
        purchases.revenue,
        cast(cutoff.data_cutoff_at as date) as observation_end_date
    from purchases
    cross join cutoff
    where purchases.purchased_at <= cutoff.data_cutoff_at
),

final as (
    select
        user_id,
        purchase_date,
        count(*) as purchases,
        sum(revenue) as revenue,
        observation_end_date
    from purchases_as_of_cutoff
    group by user_id, purchase_date, observation_end_date
)

select * from final
