-- Attribution invariants: every purchase appears in every model, and in each model its
-- credited_conversions sum to 1 (within 1e-9) and its credited_revenue to its revenue (within
-- 1e-6). Reads int_attribution_conversions (ephemeral, the purchases the mart is built from)
-- so the test runs only with the mart, after the Markov scoring asset (DECISIONLOG 11).
with

conversions as (
    select * from {{ ref('int_attribution_conversions') }}
),

attribution as (
    select * from {{ ref('attribution') }}
),

attribution_models as (
    {% for model in ['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay', 'markov'] -%}
        select {{ quote_literal(model) }} as model
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

expected as (
    select
        conversions.order_id,
        attribution_models.model,
        cast(conversions.revenue as double) as revenue
    from conversions
    cross join attribution_models
),

credited as (
    select
        order_id,
        model,
        sum(credited_conversions) as credited_conversions,
        sum(credited_revenue) as credited_revenue
    from attribution
    group by order_id, model
)

select
    coalesce(expected.order_id, credited.order_id) as order_id,
    coalesce(expected.model, credited.model) as model,
    expected.revenue,
    credited.credited_conversions,
    credited.credited_revenue
from expected
full outer join credited
    on
        expected.order_id = credited.order_id
        and expected.model = credited.model
where
    expected.order_id is null
    or credited.order_id is null
    or abs(credited.credited_conversions - 1) >= 1e-9
    or abs(credited.credited_revenue - expected.revenue) >= 1e-6
