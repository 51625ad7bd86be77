-- One row per actor, UTC month and channel the actor was reached through in that month (the
-- touchpoint's own channel; '(unknown)' without one), with the time of the first such
-- touchpoint and of the first `conversion_touchpoint` touchpoint among them. The reach half of
-- int_channel_performance, which reads this (about an eighth of the touchpoints' rows at 50M)
-- and applies the data cutoff to the two times, never the touchpoints: an actor is reached in a
-- month up to the cutoff exactly when the first time is at or before it, and converted when the
-- second is.
--
-- Incremental by actor, like int_actor_touchpoint_months: a windowed run deletes and rebuilds,
-- from all their touchpoints, the actors listed in int_touchpoint_changes.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete('actor_id in ' ~ changed_actors() ~ ' or ' ~ withdrawn('actor_id')) }}"
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}

with

touchpoints as (
    select
        actor_id,
        occurred_at,
        cast({{ dbt.date_trunc('month', 'occurred_at') }} as date) as month_start,
        coalesce(channel, '(unknown)') as channel,
        touchpoint
    from {{ ref('int_touchpoints') }}
    {% if incremental_mode() %}
    where actor_id in {{ changed_actors() }}
    {% endif %}
),

final as (
    select
        actor_id,
        month_start,
        cast(channel as {{ dbt.type_string() }}) as channel,
        min(occurred_at) as first_touchpoint_at,
        min(
            case
                when touchpoint = {{ quote_literal(var('conversion_touchpoint')) }}
                    then occurred_at
            end
        ) as first_conversion_at
    from touchpoints
    group by actor_id, month_start, channel
)

select * from final
