-- One row per actor and touchpoint (event name) the actor ever had, with the actor's payment
-- status over the whole data: the actor-level half of int_touchpoint_value's 'overall' period,
-- whose reach is then a few sums over these rows. Without it, the value grouped all of
-- int_actor_touchpoint_months by actor, and by actor and touchpoint, every day: about 6 s at
-- 50M touchpoints for a result that changes only for the actors the day touched (DECISIONLOG
-- 166).
--
-- Over the whole data an actor is a payment converter with a `conversion_touchpoint`
-- touchpoint in any month, and a payment abandoner when not a converter and with an abandoned
-- payment intent in any month (int_actor_touchpoint_months says which). marks_actor is true on
-- exactly one row of each actor (its alphabetically first touchpoint), so that a count of
-- actors is a sum over the rows and needs no grouping by actor.
--
-- Incremental by actor, like int_actor_touchpoint_months, whose rows it adds up: a windowed run
-- deletes every row of each actor listed in int_touchpoint_changes (and of the users who
-- withdrew) and builds them again from all the actor's months.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ incremental_delete('actor_id in ' ~ changed_actors()) }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}

with

actor_months as (
    select
        actor_id,
        touchpoint,
        abandoned_intent_count
    from {{ ref('int_actor_touchpoint_months') }}
    {%- if incremental_mode() %}
        -- the actors the pre-hook deleted, from all their months
        where actor_id in {{ changed_actors() }}
    {%- endif %}
),

actor_touchpoints as (
    select
        actor_id,
        touchpoint,
        max(case when abandoned_intent_count > 0 then 1 else 0 end) as has_abandoned_intent
    from actor_months
    group by actor_id, touchpoint
),

actor_status as (
    select
        actor_id,
        min(touchpoint) as first_touchpoint,
        max(
            case
                when touchpoint = {{ quote_literal(var('conversion_touchpoint')) }} then 1 else 0
            end
        ) as has_conversion,
        max(has_abandoned_intent) as has_abandoned_intent
    from actor_touchpoints
    group by actor_id
),

final as (
    select
        cast(actor_touchpoints.actor_id as {{ dbt.type_string() }}) as actor_id,
        cast(actor_touchpoints.touchpoint as {{ dbt.type_string() }}) as touchpoint,
        actor_touchpoints.touchpoint = actor_status.first_touchpoint as marks_actor,
        actor_status.has_conversion = 1 as is_converter,
        actor_status.has_conversion = 0 and actor_status.has_abandoned_intent = 1 as is_abandoner
    from actor_touchpoints
    inner join actor_status on actor_touchpoints.actor_id = actor_status.actor_id
)

select * from final
