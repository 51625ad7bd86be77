-- Touchpoints per customer, churn snapshot and touchpoint type in the 30 and 90 days up to the
-- snapshot's as_of_at (both windows end at as_of_at, inclusive; they start just after
-- as_of_at - 30 / 90 days). Long format, so every touchpoint type of the data becomes a feature
-- without a fixed list. Only customers (a purchase up to as_of_at) of each snapshot appear; a
-- missing row means zero. One pass over the touchpoints serves all three snapshots.
-- Only touchpoints that carry the user_id themselves count (is_stitched = false): a stitched
-- touchpoint can owe its user to a login after as_of_at, which would leak the future.
with

touchpoints as (
    select * from {{ ref('int_touchpoints') }}
),

purchases as (
    select * from {{ ref('int_purchases') }}
),

snapshots as (
    select * from {{ ref('int_churn_snapshots') }}
),

customers_at_snapshot as (
    select distinct
        snapshots.snapshot,
        snapshots.as_of_at,
        purchases.user_id
    from purchases
    inner join snapshots on purchases.purchased_at <= snapshots.as_of_at
),

recent_touchpoints as (
    select
        customers_at_snapshot.snapshot,
        customers_at_snapshot.user_id,
        touchpoints.touchpoint,
        touchpoints.occurred_at,
        customers_at_snapshot.as_of_at
    from touchpoints
    inner join customers_at_snapshot
        on touchpoints.user_id = customers_at_snapshot.user_id
    where
        not touchpoints.is_stitched
        and touchpoints.occurred_at <= customers_at_snapshot.as_of_at
        and touchpoints.occurred_at > {{ dbt.dateadd('day', -90, 'customers_at_snapshot.as_of_at') }}
),

final as (
    select
        user_id,
        snapshot,
        touchpoint,
        -- bigint: DuckDB sums integers into a 128-bit HUGEINT, which reaches Python as Decimal
        -- objects, one per row (the churn step reads 6.7M rows of this at 50M)
        cast(sum(
            case
                when occurred_at > {{ dbt.dateadd('day', -30, 'as_of_at') }} then 1 else 0
            end
        ) as {{ dbt.type_bigint() }}) as touchpoints_30d,
        count(*) as touchpoints_90d
    from recent_touchpoints
    group by user_id, snapshot, touchpoint
)

select * from final
