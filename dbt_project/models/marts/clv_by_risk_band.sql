-- Expected 12-month CLV by churn risk band, over the customers that have both scores (a CLV
-- and a churn risk band): one row per band and one for all of them (risk_band '(all)'), with
-- the band's share of those customers and of their expected CLV, and its median CLV.
with

scored as (
    select
        risk_band,
        clv_12m
    from {{ ref('customers') }}
    where clv_12m is not null and risk_band is not null
),

bands as (
    select
        risk_band,
        count(*) as customers,
        sum(clv_12m) as total_clv_12m,
        {{ median('clv_12m') }} as median_clv_12m
    from scored
    group by risk_band

    union all

    select
        '(all)' as risk_band,
        count(*) as customers,
        sum(clv_12m) as total_clv_12m,
        {{ median('clv_12m') }} as median_clv_12m
    from scored
),

all_bands as (
    select
        customers as all_customers,
        total_clv_12m as all_total_clv_12m
    from bands
    where risk_band = '(all)'
),

with_totals as (
    select
        bands.*,
        all_bands.all_customers,
        all_bands.all_total_clv_12m
    from bands
    cross join all_bands
    where bands.customers > 0
),

final as (
    select
        cast(risk_band as {{ dbt.type_string() }}) as risk_band,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        {{ safe_divide('customers', 'all_customers') }} as share_of_customers,
        cast(total_clv_12m as double) as total_clv_12m,
        {{ safe_divide('total_clv_12m', 'all_total_clv_12m') }} as share_of_clv_12m,
        cast(median_clv_12m as double) as median_clv_12m
    from with_totals
)

select * from final
