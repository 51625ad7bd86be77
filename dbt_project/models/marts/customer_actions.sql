-- The action list: one row per action x RFM segment x churn risk band. Each customer with a
-- churn score gets the first action whose rule matches; clv_decile is the customer's tenth of
-- clv_12m (10 = the most valuable; ties by user_id; null without a CLV score).
--   1 win back     risk medium or high, and valuable: clv_decile >= 6 or RFM segment
--                  Champions, Loyal, Can't lose or At risk;
--   2 reward       risk low, and RFM segment Champions or Loyal, or clv_decile >= 9;
--   4 leave alone  risk high (what is left of it: low value, not a valued segment);
--   3 nurture      everyone else.
with

customers as (
    select * from {{ ref('customers') }}
),

clv_deciles as (
    select
        user_id,
        ntile(10) over (order by clv_12m, user_id) as clv_decile
    from customers
    where risk_band is not null and clv_12m is not null
),

scored as (
    select
        customers.user_id,
        customers.rfm_segment,
        customers.risk_band,
        customers.churn_probability,
        customers.clv_12m,
        clv_deciles.clv_decile
    from customers
    left join clv_deciles on customers.user_id = clv_deciles.user_id
    where customers.risk_band is not null
),

actions as (
    select
        *,
        case
            when
                risk_band in ({{ labels('churn_risk_bands', ['medium', 'high']) }})
                and (
                    clv_decile >= 6
                    or rfm_segment in (
                        {{ labels('rfm_segments', ['Champions', 'Loyal', "Can't lose", 'At risk']) }}
                    )
                )
                then 'win back'
            when
                risk_band = {{ label('churn_risk_bands', 'low') }}
                and (
                    rfm_segment in ({{ labels('rfm_segments', ['Champions', 'Loyal']) }})
                    or clv_decile >= 9
                )
                then 'reward'
            when risk_band = {{ label('churn_risk_bands', 'high') }} then 'leave alone'
            else 'nurture'
        end as action
    from scored
),

ranked as (
    select
        *,
        row_number() over (
            partition by action, rfm_segment, risk_band order by user_id
        ) as example_rank
    from actions
),

final as (
    select
        cast(action as {{ dbt.type_string() }}) as action,
        cast(
            case action
                when 'win back' then 1
                when 'reward' then 2
                when 'nurture' then 3
                else 4
            end as {{ dbt.type_int() }}
        ) as priority,
        cast(
            case action
                when 'win back'
                    then 'churn risk medium or high, and CLV decile >= 6 or a valued RFM segment'
                when 'reward' then 'churn risk low, and Champions or Loyal or CLV decile >= 9'
                when 'leave alone'
                    then 'churn risk high, CLV decile <= 5 and not a valued RFM segment'
                else 'everyone else: keep engaged'
            end as {{ dbt.type_string() }}
        ) as rule,
        cast(rfm_segment as {{ dbt.type_string() }}) as rfm_segment,
        cast(risk_band as {{ dbt.type_string() }}) as risk_band,
        cast(count(*) as {{ dbt.type_bigint() }}) as customers,
        cast(min(clv_decile) as {{ dbt.type_int() }}) as min_clv_decile,
        cast(max(clv_decile) as {{ dbt.type_int() }}) as max_clv_decile,
        cast(sum(clv_12m) as double) as total_clv_12m,
        cast(avg(churn_probability) as double) as avg_churn_probability,
        cast(
            {{ dbt.listagg(
                "case when example_rank <= 5 then user_id end", "', '", 'order by user_id'
            ) }} as {{ dbt.type_string() }}
        ) as example_user_ids
    from ranked
    group by action, rfm_segment, risk_band
)

select * from final
