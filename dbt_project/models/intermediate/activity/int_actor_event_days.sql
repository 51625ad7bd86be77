-- One row per actor, UTC day and touchpoint (event name) that an activity retention definition
-- starts or returns with (activity_retention_touchpoints(): the first step of the first funnel
-- and the configured ones), with the time of the day's first such touchpoint. The event half of
-- the daily activity fact: marts.activity_retention reads it (and int_actor_days for "any
-- touchpoint"), never the touchpoints. All history; the mart applies the data cutoff.
--
-- Incremental by actor, like int_actor_days. After a change of the definitions or the funnels,
-- a full refresh rebuilds it for the new names.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete('actor_id in ' ~ changed_actors() ~ ' or ' ~ withdrawn('actor_id')) }}"
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
{%- set quoted = [] %}
{%- for name in activity_retention_touchpoints() %}
    {%- do quoted.append(quote_literal(name)) %}
{%- endfor %}

with

touchpoints as (
    select
        actor_id,
        occurred_at,
        touchpoint
    from {{ ref('int_touchpoints') }}
    where touchpoint in ({{ quoted | join(', ') }})
    {% if incremental_mode() %}
        and actor_id in {{ changed_actors() }}
    {% endif %}
),

final as (
    select
        cast(actor_id as {{ dbt.type_string() }}) as actor_id,
        cast(occurred_at as date) as activity_date,
        cast(touchpoint as {{ dbt.type_string() }}) as touchpoint,
        min(occurred_at) as first_touchpoint_at
    from touchpoints
    group by actor_id, cast(occurred_at as date), touchpoint
)

select * from final
