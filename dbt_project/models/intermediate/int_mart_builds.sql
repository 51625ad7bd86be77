-- One row per mart that keeps its rows for the days before the touchpoints changed
-- (DECISIONLOG 147): the run of the daily models (int_touchpoint_change_log) its last build
-- read, that build's data cutoff and settings. The mart's next build rebuilds the periods from
-- the earliest day the runs logged since then changed (and the old and new cutoff's day), and
-- everything when it cannot tell (no row, another log, other settings, a run from all history).
--
-- Kept up to date by each such mart's post-hook (record_mart_build(), macros/mart_periods.sql),
-- in the mart's own transaction. This model only creates the table (full_refresh=false: a
-- full refresh keeps it, and the marts' rows say what they were built from).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    full_refresh=false,
) }}
-- after the daily models (the runs it records are theirs), so that it is built in the step of
-- the marts, not in a dbt step of its own beside the daily one
-- depends_on: {{ ref('int_touchpoint_change_log') }}

with

final as (
    select
        cast(null as {{ dbt.type_string() }}) as mart,
        cast(null as {{ dbt.type_bigint() }}) as change_log_run,
        cast(null as {{ dbt.type_timestamp() }}) as change_log_logged_at,
        cast(null as {{ dbt.type_timestamp() }}) as data_cutoff_at,
        cast(null as {{ dbt.type_string() }}) as settings
    where 1 = 0
)

select * from final
