-- One row per run of the daily models: from which UTC day the touchpoints they hold may have
-- changed in that run. The marts that keep their rows for the days before it (DECISIONLOG 147:
-- marts.activity_retention) read the rows logged since their own last build
-- (int_mart_builds), so a run of the daily models that the marts missed is never skipped.
--
-- changed_from is the earliest of:
--   - the day of each changed actor's rebuild_from (int_touchpoint_changes): the actor's
--     touchpoints before it are kept as they were;
--   - for an actor rebuilt from all history (rebuild_from null: a new actor, or one of the two
--     actors of a device whose anonymous touchpoints change actor), the first day of its
--     activity before this run (int_actor_days, read before it is rebuilt) and after it
--     (int_sessions, rebuilt already);
--   - for a user who withdrew consent, their first day before this run (their rows go).
-- Null when no touchpoint changed. A build from all history (a full refresh, a run without a
-- partition, the first build, and every Spark build) logs rebuilt_all = true: the marts rebuild
-- in full after it. Appended to, never rebuilt (full_refresh=false): a full refresh logs a row.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    full_refresh=false,
    tags=['daily'],
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_sessions') }}
-- depends_on: {{ ref('int_users') }}, {{ ref('int_held_users') }}
{%- set previous_days = none %}
{%- if execute and incremental_mode() %}
    {%- set previous_days = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_actor_days') %}
{%- endif %}

with

{% if previous_days is not none %}

    changes as (
        select
            actor_id,
            rebuild_from
        from {{ ref('int_touchpoint_changes') }}
    ),

    rebuilt_in_full as (
        select actor_id from changes
        where rebuild_from is null
    ),

    changed_days as (
        select min(cast(rebuild_from as date)) as changed_from
        from changes

        union all

        -- int_actor_days as the previous run left it (this model runs before it is rebuilt)
        select min(previous_days.activity_date) as changed_from
        from {{ previous_days }} as previous_days
        where
            previous_days.actor_id in (select rebuilt_in_full.actor_id from rebuilt_in_full)
            or {{ withdrawn('previous_days.actor_id') }}

        union all

        select min(cast(sessions.started_at as date)) as changed_from
        from {{ ref('int_sessions') }} as sessions
        where sessions.actor_id in (select rebuilt_in_full.actor_id from rebuilt_in_full)
    ),

    logged as (
        select
            min(changed_from) as changed_from,
            false as rebuilt_all
        from changed_days
    ),

{% else %}

    logged as (
        select
            cast(null as date) as changed_from,
            true as rebuilt_all
    ),

{% endif %}

final as (
    select
        cast(
            {% if is_incremental() -%}
                coalesce((select max(previous_runs.run_number) from {{ this }} as previous_runs), 0)
            {%- else -%}
                0
            {%- endif %} + 1 as {{ dbt.type_bigint() }}
        ) as run_number,
        cast({{ dbt.current_timestamp() }} as {{ dbt.type_timestamp() }}) as logged_at,
        cast(logged.changed_from as date) as changed_from,
        logged.rebuilt_all
    from logged
)

select * from final
