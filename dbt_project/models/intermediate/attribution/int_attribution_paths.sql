-- Channel paths of customer journeys, the input of the Markov attribution (Python scoring
-- asset): one row per journey x touch, in (occurred_at, touchpoint_id) order.
--   * A converting journey is a purchase: its touches (int_attribution_touches).
--   * A non-converting journey is an actor with at least one channel touch and no purchase at
--     all: their channel touches in the `attribution_lookback_days` up to (and including) their
--     last channel touch.
-- Purchases without a touch have no path.
--
-- Incremental by journey (DECISIONLOG 76): a windowed run deletes and rebuilds
--   * the converting journeys of the orders int_attribution_touches rebuilds (same predicate:
--     purchases of a changed actor from its rebuild_from, DECISIONLOG 140, or made since the
--     window start minus the lookback; orders that are no longer purchases are deleted), plus
--     any order of int_attribution_touches missing here;
--   * the non-converting journey of every changed actor (int_touchpoint_changes); an actor
--     who became a buyer (int_purchases) loses it; a user with an order but no purchase and no
--     journey here gets it built (a buyer whose purchases were all cancelled or refunded);
--   * nothing of a user who no longer consents.
-- The lists of a kind are one `in` of a `union all`: two `in` joined by `or` look every row up
-- twice (DECISIONLOG 155).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete(
        '(is_converted and (order_id in (select resumed.order_id from ' ~ resumed_purchases()
        ~ ' as resumed union all select order_id from ' ~ ref('int_purchases')
        ~ ' where purchased_at >= ' ~ incremental_since() ~ ')'
        ~ ' or order_id not in (select order_id from ' ~ ref('int_purchases') ~ ')))'
        ~ ' or (not is_converted and actor_id in (select changed.actor_id from '
        ~ changed_actors() ~ ' as changed union all select user_id from '
        ~ ref('int_purchases') ~ '))'
        ~ ' or ' ~ withdrawn('actor_id')
    ) }}"
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}, {{ ref('stg_orders') }}
{%- set lookback_days = var('attribution_lookback_days') %}
{#- last_touches: a full build reads the table again (see there), an incremental run its CTE #}
{%- set last_touch_source = 'touchpoints' if incremental_mode() else ref('int_touchpoints') %}

with

touches as (
    select * from {{ ref('int_attribution_touches') }}
    {% if incremental_mode() %}
    -- the orders deleted above, and any order not here yet: the touches' orders less those
    -- here, each once, rather than a `not in` that hashes every converting row of this table.
    -- Both sides by their first touch (an order's journey is deleted whole): 0.8-1.0 against
    -- 0.2-0.3 s at 50M.
    where order_id in (
        select order_id from {{ ref('int_attribution_touches') }}
        where touch_number = 1
        except
        select order_id from {{ this }}
        where is_converted and touch_number = 1
    )
    {% endif %}
),

purchases as (
    select * from {{ ref('int_purchases') }}
),

-- the channel touches, four columns (an incremental run reads this CTE twice, and DuckDB stores
-- such a CTE with the columns it selects)
touchpoints as (
    select
        actor_id,
        touchpoint_id,
        occurred_at,
        channel
    from {{ ref('int_touchpoints') }}
    where
        channel is not null
    {% if incremental_mode() %}
        -- the changed actors, and the users with an order but no purchase who have no journey
        -- (yet): a buyer whose purchases were all cancelled or refunded gets one back. One list,
        -- looked up once per touchpoint: two `in` joined by `or` probed each touchpoint twice
        -- (1.8-2.1 against 1.0-1.2 s at 50M)
        and actor_id in (
            select changed.actor_id from {{ changed_actors() }} as changed
            union all
            select user_id from {{ ref('stg_orders') }}
            where
                user_id not in (select user_id from {{ ref('int_purchases') }})
                and user_id not in (
                    select actor_id from {{ this }}
                    where not is_converted
                )
        )
    {% endif %}
),

buyers as (
    select distinct user_id from purchases
),

converting as (
    select
        {{ dbt.concat(["'order:'", 'order_id']) }} as journey_id,
        true as is_converted,
        order_id,
        user_id as actor_id,
        touch_number,
        touchpoint_id,
        occurred_at,
        channel,
        previous_channel
    from touches
),

-- The last channel touch of every actor without a purchase: a grouping of a narrow read, joined
-- back on the actor, rather than a window partition that moves every touch with its columns
-- (DECISIONLOG 117). A full build reads the table a second time rather than the `touchpoints`
-- CTE, which DuckDB would then store because it is read twice; an incremental run reads the
-- CTE, the few rows of its changed actors.
last_touches as (
    select
        touchpoints.actor_id,
        max(touchpoints.occurred_at) as last_touch_at
    from {{ last_touch_source }} as touchpoints
    left join buyers on touchpoints.actor_id = buyers.user_id
    where
        touchpoints.channel is not null
        and buyers.user_id is null
    group by touchpoints.actor_id
),

non_converting_window as (
    select
        touchpoints.actor_id,
        touchpoints.touchpoint_id,
        touchpoints.occurred_at,
        touchpoints.channel
    from touchpoints
    inner join last_touches on touchpoints.actor_id = last_touches.actor_id
    where
        touchpoints.occurred_at
        >= {{ dbt.dateadd('day', -1 * lookback_days, 'last_touches.last_touch_at') }}
),

non_converting as (
    select
        {{ dbt.concat(["'actor:'", 'actor_id']) }} as journey_id,
        false as is_converted,
        cast(null as {{ dbt.type_string() }}) as order_id,
        actor_id,
        cast(row_number() over (
            partition by actor_id order by occurred_at, touchpoint_id
        ) as {{ dbt.type_int() }}) as touch_number,
        touchpoint_id,
        occurred_at,
        channel,
        lag(channel) over (
            partition by actor_id order by occurred_at, touchpoint_id
        ) as previous_channel
    from non_converting_window
),

final as (
    select * from converting
    union all
    select * from non_converting
)

select * from final
