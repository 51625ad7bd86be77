-- Multi-touch attribution: one row per conversion (purchase) x model x channel. Each model
-- shares out one conversion (and its revenue) over the channels of the purchase's touches
-- (int_attribution_touches); touches of the same channel are summed, and every touched channel
-- has a row in every model, with 0 credit when the model gives it none. A purchase without a
-- touch is credited 100% to `unattributed` in every model.
--   first_touch / last_touch: all credit to the first / last touch.
--   linear: equal shares.
--   position_based: one touch 100%; two 50/50; three or more 40% first, 40% last and 20% split
--     equally over the middle touches.
--   time_decay: weight 2^(-days before the purchase / `time_decay_half_life_days`), normalised
--     over the purchase's touches.
--   markov: removal-effect shares of a first-order Markov chain, computed by the Python scoring
--     asset (scoring.markov_attribution).
--
-- Incremental on DuckDB (DECISIONLOG 150, macros/attribution.sql): a windowed run keeps the rule
-- models' rows of the purchases whose touches did not change, rebuilds the others' and every
-- purchase's markov row (from the kept rows' channels and touches).
{%- set rule_models = attribution_rule_models() %}
{%- set models = rule_models + ['markov'] %}
{%- set half_life_days = var('time_decay_half_life_days') %}
{#- The exact type of a share (every share and decay weight is between 0 and 1: a touch is never
    after its purchase): a 64-bit decimal with 15 places. Each touch's share is rounded to 15
    decimal places, and a channel's credit is the exact sum of its touches' rounded shares (1/3
    is 0.333333333333333). DuckDB casts a double to it fast (the scaled value stays below 2^53,
    within a double's integers): a 38-digit decimal made the model twice as slow, and 16 or 17
    places in 64 bits round the last places off (DECISIONLOG 121). #}
{%- set share_type = 'decimal(18, 15)' %}
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    pre_hook="{{ delete_rebuilt_attribution() }}",
    post_hook="{{ record_mart_build(attribution_settings()) }}",
) }}
-- depends_on: {{ ref('int_touchpoint_change_log') }}, {{ ref('int_mart_builds') }}
-- depends_on: {{ ref('int_purchases') }}

with

all_conversions as (
    select * from {{ ref('int_attribution_conversions') }}
),

-- the purchases rebuilt: all of them, or in a windowed run those without rows here after the
-- pre-hook's delete (which takes every markov row, and the rule models' rows of a purchase
-- together), so a purchase here has rows of the first rule model: 0.4-0.5 against 0.12-0.14 s
-- at 50M, where every row's order was hashed
conversions as (
    select * from all_conversions
    {% if incremental_mode() %}
    where order_id in (
        select order_id from all_conversions
        except
        select order_id from {{ this }}
        where model = {{ quote_literal(rule_models[0]) }}
    )
    {% endif %}
),

touches as (
    select * from {{ ref('int_attribution_touches') }}
    {% if incremental_mode() %}
    where order_id in (select order_id from conversions)
    {% endif %}
),

markov as (
    select * from {{ ref('stg_scoring__markov_attribution') }}
),

attribution_models as (
    {% for model in models -%}
        select {{ quote_literal(model) }} as model
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

decayed as (
    select
        *,
        -- exact decimals from here on: a parallel sum of doubles depends on the order it adds
        -- in, and two builds must give the same bits
        cast(
            power(
                cast(2 as double),
                -1 * days_before_purchase / cast({{ half_life_days }} as double)
            ) as {{ share_type }}
        ) as decay_weight
    from touches
),

-- Per conversion, the exact share of one touch in each rule model, cast to a decimal once per
-- conversion rather than once per touch (a cast of a double to a decimal is the dear
-- part of this model; DECISIONLOG 107). The shares are those of the per-touch definitions:
-- `end_share` goes to the first and the last touch, `middle_share` to the others.
conversion_shares as (
    select
        order_id,
        touch_count,
        cast(sum(decay_weight) as double) as decay_total,
        cast(cast(1 as double) / touch_count as {{ share_type }}) as linear_share,
        cast(
            case
                when touch_count = 1 then cast(1 as double)
                when touch_count = 2 then cast(0.5 as double)
                else cast(0.4 as double)
            end as {{ share_type }}
        ) as end_share,
        cast(
            case
                when touch_count <= 2 then cast(0 as double)
                else cast(0.2 as double) / (touch_count - 2)
            end as {{ share_type }}
        ) as middle_share
    from decayed
    group by order_id, touch_count
),

touch_credits as (
    select
        decayed.order_id,
        decayed.channel,
        case
            when decayed.touch_number = 1 then cast(1 as {{ share_type }})
            else cast(0 as {{ share_type }})
        end as first_touch,
        case
            when decayed.touch_number = decayed.touch_count then cast(1 as {{ share_type }})
            else cast(0 as {{ share_type }})
        end as last_touch,
        conversion_shares.linear_share as linear,
        case
            when decayed.touch_number = 1 or decayed.touch_number = decayed.touch_count
                then conversion_shares.end_share
            else conversion_shares.middle_share
        end as position_based,
        cast(
            cast(decayed.decay_weight as double) / conversion_shares.decay_total
            as {{ share_type }}
        ) as time_decay
    from decayed
    inner join conversion_shares on decayed.order_id = conversion_shares.order_id
),

-- one pass over the touches: per conversion and channel, the touches and each rule model's
-- credit (exact decimals), then one row per model, rather than a union of every model's
-- touches grouped by conversion, model and channel (DECISIONLOG 94)
channel_credits as (
    select
        order_id,
        channel,
        count(*) as touches,
        {%- for model in rule_models %}
            sum({{ model }}) as {{ model }}_credit
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    from touch_credits
    group by order_id, channel
),

rule_channel_credits as (
    {% for model in rule_models -%}
        select
            order_id,
            {{ quote_literal(model) }} as model,
            channel,
            touches,
            {{ model }}_credit as credited_conversions
        from channel_credits
        {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

markov_channel_credits as (
    select
        channel_credits.order_id,
        'markov' as model,
        channel_credits.channel,
        channel_credits.touches,
        cast(markov.credited_conversions as double) as credited_conversions
    from channel_credits
    left join markov
        on
            channel_credits.order_id = markov.order_id
            and channel_credits.channel = markov.channel
),


unattributed as (
    select
        conversions.order_id,
        attribution_models.model,
        'unattributed' as channel,
        0 as touches,
        cast(1 as double) as credited_conversions
    from conversions
    cross join attribution_models
    left join conversion_shares on conversions.order_id = conversion_shares.order_id
    where conversion_shares.order_id is null
),

credits as (
    select * from rule_channel_credits
    union all
    select * from markov_channel_credits
    union all
    select * from unattributed
),

{% if incremental_mode() %}
-- the markov rows of the purchases kept: their channels and touches are those of their
-- first_touch rows ('unattributed', 0 touches, credited 1 without a touch)
kept_markov_credits as (
    select
        kept.order_id,
        'markov' as model,
        kept.channel,
        kept.touches,
        case
            when kept.touches = 0 then cast(1 as double)
            else cast(markov.credited_conversions as double)
        end as credited_conversions
    from {{ this }} as kept
    left join markov
        on
            kept.order_id = markov.order_id
            and kept.channel = markov.channel
    where kept.model = 'first_touch'
),
{% endif %}

-- every row this run writes: all of them, or in a windowed run the rebuilt purchases' and the
-- kept purchases' markov rows
written as (
    select * from credits
    {% if incremental_mode() %}
    union all
    select * from kept_markov_credits
    {% endif %}
),

final as (
    select
        cast(conversions.order_id as {{ dbt.type_string() }}) as order_id,
        cast(conversions.user_id as {{ dbt.type_string() }}) as user_id,
        cast(conversions.purchased_at as {{ dbt.type_timestamp() }}) as purchased_at,
        cast(written.model as {{ dbt.type_string() }}) as model,
        cast(written.channel as {{ dbt.type_string() }}) as channel,
        cast(written.touches as {{ dbt.type_bigint() }}) as touches,
        cast(written.credited_conversions as double) as credited_conversions,
        written.credited_conversions * cast(conversions.revenue as double) as credited_revenue
    from written
    inner join all_conversions as conversions on written.order_id = conversions.order_id
)

select * from final
