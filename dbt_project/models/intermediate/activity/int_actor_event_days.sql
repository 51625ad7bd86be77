-- One row per actor, UTC day and touchpoint (event name) that an activity retention definition
-- starts or returns with (activity_retention_touchpoints(): the first step of the first funnel
-- and the configured ones), with the time of the day's first such touchpoint. The event half of
-- the daily activity fact: marts.activity_retention reads it (and int_actor_days for "any
-- touchpoint"), never the touchpoints. All history; the mart applies the data cutoff.
--
-- Incremental by actor, resumed: a windowed run deletes and rebuilds the days of each actor
-- listed in int_touchpoint_changes from the day that holds its rebuild_from (a day's rows read
-- that day's touchpoints alone), all of them when rebuild_from is null (DECISIONLOG 146). After
-- a change of the definitions or the funnels, a full refresh rebuilds it for the new names.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('activity_date', 'actor_id', 'day') }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
{%- set quoted = [] %}
{%- for name in activity_retention_touchpoints() %}
    {%- do quoted.append(quote_literal(name)) %}
{%- endfor %}

with

rebuilt as (
    select
        rows_read.actor_id,
        rows_read.occurred_at,
        rows_read.touchpoint
    from {{ rebuilt_session_rows(ref('int_touchpoints'), 'rows_read', 'occurred_at', 'day') }}
),

touchpoints as (
    select * from rebuilt
    where touchpoint in ({{ quoted | join(', ') }})
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
