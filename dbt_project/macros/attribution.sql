{#-
    marts.attribution keeps the rule models' rows of the purchases whose touches did not change
    (DECISIONLOG 150).

    A rule model's credits of a purchase (first_touch ... time_decay) read that purchase's
    touches alone, and a purchase's touches are the buyer's touchpoints in the lookback up to it:
    a touchpoint that changed on day D changes only the purchases made from D on. So a windowed
    run deletes and rebuilds the purchases made from the earliest day the daily runs since the
    mart's last build changed (mart_rebuild_floor(), the machinery of the marts kept by period),
    and any purchase whose kept rows no longer match int_purchases (gone, late, or another
    buyer, time or revenue). The markov rows, whose model is refitted on every run, are rebuilt
    for every purchase, from the kept rows' channels and touches. Every row when it cannot tell.
-#}

{% macro attribution_rule_models() -%}
    {{- return(['first_touch', 'last_touch', 'linear', 'position_based', 'time_decay']) -}}
{%- endmacro %}


{% macro attribution_settings() -%}
    {#- What the rule models' kept rows depend on besides the touches (int_mart_builds.settings):
        another value rebuilds every row. -#}
    {{- return(tojson({
        'models': attribution_rule_models(),
        'attribution_lookback_days': var('attribution_lookback_days') | string,
        'time_decay_half_life_days': var('time_decay_half_life_days') | string,
    }, sort_keys=true)) -}}
{%- endmacro %}


{% macro delete_rebuilt_attribution() -%}
    {#- Pre-hook of marts.attribution: every markov row, and every row of a purchase made from
        the floor on or whose first_touch rows no longer match its purchase (the buyer, the
        time, the revenue their credits sum to, exactly: the credits are 1 and 0); every row
        when there is no floor. Nothing on a first build or on Spark (not incremental). -#}
    {%- if is_incremental() -%}
        {%- set floor = mart_rebuild_floor(attribution_settings()) -%}
        {%- if floor is not none -%}
            {%- do log(this.identifier ~ ': rebuilding the purchases made from ' ~ floor
                ~ ' and those whose rows no longer match, and every markov row', info=True) -%}
        {%- endif %}
        delete from {{ this }}
        {%- if floor is not none %} as kept
        where
            kept.model = 'markov'
            or kept.purchased_at >= {{ period_floor('day', floor) }}
            or kept.order_id in (
                select kept_orders.order_id
                from (
                    select
                        order_id,
                        min(user_id) as user_id,
                        max(user_id) as last_user_id,
                        min(purchased_at) as purchased_at,
                        max(purchased_at) as last_purchased_at,
                        sum(credited_revenue) as revenue
                    from {{ this }}
                    where model = 'first_touch'
                    group by order_id
                ) as kept_orders
                left join {{ ref('int_purchases') }} as purchases
                    on kept_orders.order_id = purchases.order_id
                where
                    purchases.order_id is null
                    or kept_orders.user_id <> kept_orders.last_user_id
                    or kept_orders.purchased_at <> kept_orders.last_purchased_at
                    or purchases.user_id <> kept_orders.user_id
                    or purchases.purchased_at <> kept_orders.purchased_at
                    or cast(purchases.revenue as double) is distinct from kept_orders.revenue
            )
        {%- endif %}
    {%- endif -%}
{%- endmacro %}
