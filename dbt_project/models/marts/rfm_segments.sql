-- Customers and value per RFM segment: marts.customers counted and summed by segment, with
-- each segment's share of the customers and of their net revenue. total_clv_12m sums the
-- customers that have a CLV score; it is null when none has (the CLV model had no scores).
with

customers as (
    select * from {{ ref('customers') }}
    where rfm_segment is not null
),

segments as (
    select
        rfm_segment,
        count(*) as customers,
        sum(net_revenue) as net_revenue,
        sum(clv_12m) as total_clv_12m
    from customers
    group by rfm_segment
),

with_totals as (
    select
        *,
        sum(customers) over () as all_customers,
        sum(net_revenue) over () as all_net_revenue
    from segments
),

final as (
    select
        cast(rfm_segment as {{ dbt.type_string() }}) as rfm_segment,
        cast(customers as {{ dbt.type_bigint() }}) as customers,
        {{ safe_divide('customers', 'all_customers') }} as share_of_customers,
        cast(net_revenue as decimal(18, 2)) as net_revenue,
        {{ safe_divide('net_revenue', 'all_net_revenue') }} as share_of_net_revenue,
        cast(total_clv_12m as double) as total_clv_12m
    from with_totals
)

select * from final
