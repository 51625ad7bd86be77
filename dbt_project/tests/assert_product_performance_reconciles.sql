-- The product and category marts share out the same revenue: per month, the products' revenue
-- and the categories' revenue each sum to the revenue of the purchases (int_order_lines), and
-- the overall tables to all of it (within a sum's rounding: sums_differ, macros/statistics.sql);
-- revenue_share sums to 1 where revenue does not sum to 0.
with

lines as (
    select
        purchase_month,
        sum(line_revenue) as revenue
    from {{ ref('int_order_lines') }}
    group by purchase_month
),

monthly as (
    select
        'product_performance' as mart,
        month,
        sum(revenue) as revenue,
        sum(revenue_share) as share
    from {{ ref('product_performance') }}
    group by month
    union all
    select
        'category_performance' as mart,
        month,
        sum(revenue) as revenue,
        sum(revenue_share) as share
    from {{ ref('category_performance') }}
    group by month
),

overall as (
    select
        'product_performance_overall' as mart,
        sum(revenue) as revenue,
        sum(revenue_share) as share
    from {{ ref('product_performance_overall') }}
    union all
    select
        'category_performance_overall' as mart,
        sum(revenue) as revenue,
        sum(revenue_share) as share
    from {{ ref('category_performance_overall') }}
),

monthly_marts as (
    select 'product_performance' as mart
    union all
    select 'category_performance' as mart
),

total as (
    select sum(revenue) as revenue
    from lines
),

expected as (
    select
        monthly_marts.mart,
        lines.purchase_month,
        lines.revenue
    from lines
    cross join monthly_marts
),

monthly_failures as (
    select
        coalesce(expected.mart, monthly.mart) as mart,
        coalesce(expected.purchase_month, monthly.month) as month
    from expected
    full outer join monthly
        on expected.mart = monthly.mart and expected.purchase_month = monthly.month
    where
        expected.mart is null
        or monthly.mart is null
        or {{ sums_differ('monthly.revenue', 'expected.revenue') }}
        or (abs(expected.revenue) >= 1e-6 and abs(monthly.share - 1) >= 1e-9)
),

overall_failures as (
    select
        overall.mart,
        cast(null as date) as month
    from overall
    cross join total
    where
        {{ sums_differ('overall.revenue', 'total.revenue') }}
        or (abs(total.revenue) >= 1e-6 and abs(overall.share - 1) >= 1e-9)
)

select * from monthly_failures
union all
select * from overall_failures
