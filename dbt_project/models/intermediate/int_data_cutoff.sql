-- One row: the "as of" time of every recency and cohort-grid computation. It is the `data_cutoff`
-- var when set, otherwise the time of the latest purchase in the data. Never the wall clock, so
-- the same input always gives the same warehouse.
{%- set configured = configured_data_cutoff() %}
{%- set cutoff_at = configured if configured is not none else 'latest_purchase_at' %}

with

orders as (
    select * from {{ ref('stg_orders') }}
),

latest_purchase as (
    select max(created_at) as latest_purchase_at
    from orders
    where {{ is_purchase('paid_at', 'status') }}
),

final as (
    select
        {{ cutoff_at }} as data_cutoff_at,
        cast({{ dbt.date_trunc('month', cutoff_at) }} as date) as data_cutoff_month,
        {{ "'configured'" if configured is not none else "'latest purchase'" }} as cutoff_source
    from latest_purchase
)

select * from final
