-- rfm_segments and clv_by_risk_band add up to marts.customers: the segments count every
-- customer once and their shares sum to 1; the bands' rows sum to the '(all)' row, which counts
-- every customer with both a CLV and a risk band.
with

customers as (
    select * from {{ ref('customers') }}
),

segments as (
    select * from {{ ref('rfm_segments') }}
),

bands as (
    select * from {{ ref('clv_by_risk_band') }}
),

segment_totals as (
    select
        sum(customers) as customers,
        sum(share_of_customers) as share_of_customers
    from segments
),

band_sums as (
    select
        sum(customers) as customers,
        sum(total_clv_12m) as total_clv_12m,
        sum(share_of_customers) as share_of_customers
    from bands
    where risk_band != '(all)'
),

scored as (
    select count(*) as customers
    from customers
    where clv_12m is not null and risk_band is not null
)

select 'segments do not count every customer once' as failure
from segment_totals
where
    segment_totals.customers != (select count(*) from customers)
    or abs(segment_totals.share_of_customers - 1) > 1e-9

union all

select 'bands do not add up to (all)' as failure
from band_sums
cross join scored
left join bands on bands.risk_band = '(all)'
where
    coalesce(bands.customers, 0) != scored.customers
    or coalesce(band_sums.customers, 0) != scored.customers
    or {{ sums_differ('coalesce(band_sums.total_clv_12m, 0)', 'coalesce(bands.total_clv_12m, 0)') }}
    or (scored.customers > 0 and abs(band_sums.share_of_customers - 1) > 1e-9)
