-- One row per customer: a consenting user with at least one purchase up to the data cutoff,
-- with their order summary and the scores computed by the Python scoring assets: RFM, CLV
-- (p_alive, clv_12m), churn risk, behavioural cluster and the next best product (rank 1 of the
-- product recommendations). A score is null when its model had
-- too little data to fit (scoring.model_metrics says so).
with

customer_orders as (
    select * from {{ ref('int_customer_orders') }}
),

users as (
    select * from {{ ref('int_users') }}
),

rfm as (
    select * from {{ ref('stg_scoring__customer_rfm') }}
),

clv as (
    select * from {{ ref('stg_scoring__customer_clv') }}
),

churn as (
    select * from {{ ref('stg_scoring__customer_churn') }}
),

clusters as (
    select * from {{ ref('stg_scoring__customer_clusters') }}
),

next_best_products as (
    select
        user_id,
        product_id
    from {{ ref('stg_scoring__product_recommendations') }}
    where rank = 1
),

final as (
    select
        cast(customer_orders.user_id as {{ dbt.type_string() }}) as user_id,
        cast(users.acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
        cast(users.device_type as {{ dbt.type_string() }}) as device_type,
        customer_orders.cohort_month,
        customer_orders.first_order_at,
        customer_orders.last_order_at,
        cast(customer_orders.orders as {{ dbt.type_bigint() }}) as orders,
        cast(customer_orders.net_revenue as decimal(18, 2)) as net_revenue,
        {{ safe_divide('customer_orders.net_revenue', 'customer_orders.orders') }}
            as avg_order_value,
        cast(customer_orders.days_since_last_order as {{ dbt.type_int() }})
            as days_since_last_order,
        cast(rfm.recency_score as {{ dbt.type_int() }}) as recency_score,
        cast(rfm.frequency_score as {{ dbt.type_int() }}) as frequency_score,
        cast(rfm.monetary_score as {{ dbt.type_int() }}) as monetary_score,
        cast(rfm.rfm_segment as {{ dbt.type_string() }}) as rfm_segment,
        cast(clv.p_alive as double) as p_alive,
        cast(clv.clv_12m as double) as clv_12m,
        cast(churn.churn_probability as double) as churn_probability,
        cast(churn.risk_band as {{ dbt.type_string() }}) as risk_band,
        cast(clusters.cluster_name as {{ dbt.type_string() }}) as cluster_name,
        cast(next_best_products.product_id as {{ dbt.type_string() }}) as next_best_product_id
    from customer_orders
    inner join users on customer_orders.user_id = users.user_id
    left join rfm on customer_orders.user_id = rfm.user_id
    left join clv on customer_orders.user_id = clv.user_id
    left join churn on customer_orders.user_id = churn.user_id
    left join clusters on customer_orders.user_id = clusters.user_id
    left join next_best_products on customer_orders.user_id = next_best_products.user_id
)

select * from final
