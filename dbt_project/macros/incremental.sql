{#-
    Daily incremental processing of the touchpoint-heavy models (tag `daily`).

    Dagster's daily partitions reach dbt as the environment variable INCREMENTAL_WINDOW_START
    ('YYYY-MM-DD', the first day of the partitions being built), read only when a model runs:
    a var, or an env var read while dbt parses, would be part of the saved parse and make every
    day's run parse the whole project again (DECISIONLOG 71). The var `incremental_window_start`
    does the same for a plain `dbt build --vars` and wins when set. An incremental run reprocesses every
    touchpoint that occurred on or after that day minus `incremental_lookback_days`, so events
    that arrive up to that many days late are picked up. The window has no upper end: later
    days already present are reprocessed too, so a backfill never leaves newer rows stale.

    Without the var (a plain `dbt build`), or with --full-refresh, the models rebuild from all
    history. See DECISIONLOG.md ("Incremental by actor").
-#}

{% macro incremental_since() -%}
    {#- The reprocessing lower bound as a SQL timestamp expression, or none for a full build. -#}
    {%- set start = var('incremental_window_start', none) -%}
    {%- if (start is none or (start | string | trim) == '') and execute -%}
        {%- set start = env_var('INCREMENTAL_WINDOW_START', '') -%}
    {%- endif -%}
    {%- if start is none or (start | string | trim) == '' or flags.FULL_REFRESH -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set start = start | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}$', start) -%}
        {{ exceptions.raise_compiler_error(
            "incremental_window_start (INCREMENTAL_WINDOW_START) must be a date YYYY-MM-DD, got '"
            ~ start ~ "'") }}
    {%- endif -%}
    {%- set lookback = var('incremental_lookback_days') -%}
    {%- if lookback is not number or lookback < 0 -%}
        {{ exceptions.raise_compiler_error(
            "incremental_lookback_days must be a whole number of days >= 0") }}
    {%- endif -%}
    {{- return(dbt.dateadd(
        'day', -1 * (lookback | int),
        'cast(' ~ quote_literal(start) ~ ' as ' ~ dbt.type_timestamp() ~ ')'
    )) -}}
{%- endmacro %}


{% macro incremental_mode() -%}
    {#- True when this model appends to its existing table for a reprocessing window (never in
        a dbt unit test, which has no `this`). -#}
    {{- return(this is not none and incremental_since() is not none and is_incremental()) -}}
{%- endmacro %}


{% macro incremental_delete(predicate) -%}
    {#- Pre-hook of the append-strategy models: before the new rows go in, delete the rows that
        will be rebuilt (`predicate`), or every row when the run is not windowed. -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if incremental_since() is not none %} where {{ predicate }}{% endif %}
    {%- endif -%}
{%- endmacro %}


{% macro withdrawn(user_id_column) -%}
    {#- True for a row of a user who no longer consents (not in int_users); the daily models'
        pre-hooks delete these rows on every run. -#}
    ({{ user_id_column }} is not null
        and {{ user_id_column }} not like 'anon:%'
        and {{ user_id_column }} not in (select user_id from {{ ref('int_users') }}))
{%- endmacro %}


{% macro changed_actors() -%}
    {#- The actors whose rows an incremental run rebuilds (intermediate.int_touchpoint_changes). -#}
    (select actor_id from {{ ref('int_touchpoint_changes') }})
{%- endmacro %}


{% macro delete_rebuilt_rows(time_column, actor_column='actor_id') -%}
    {#- Pre-hook of the models that resume each changed actor from its rebuild_from (the session
        models int_touchpoints, int_sessions and int_session_paths, DECISIONLOG 138; the
        attribution touches by purchase time, 140): before the new rows go in, delete each
        changed actor's rows (its id in `actor_column`) from its rebuild_from (all of them when
        it is null), by the row's time `time_column`; rows before it are kept: they end before
        an activity run starts (int_touchpoint_changes). Every row when the run is not
        windowed. A join (DELETE ... USING), not a correlated EXISTS, which DuckDB ran 17 times
        slower at 50M touchpoints. -#}
    {%- if is_incremental() -%}
        {%- if incremental_since() is none -%}
            delete from {{ this }}
        {%- else -%}
            delete from {{ this }} as rebuilt
            using {{ ref('int_touchpoint_changes') }} as changes
            where
                changes.actor_id = rebuilt.{{ actor_column }}
                and (
                    changes.rebuild_from is null
                    or rebuilt.{{ time_column }} >= changes.rebuild_from
                )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro rebuilt_session_rows(relation, alias, time_column='occurred_at') -%}
    {#- `relation` as `alias`, and in an incremental run only its rows that the session models
        rebuild (see delete_rebuilt_rows): joined with int_touchpoint_changes, one row per
        actor, so no row is repeated. -#}
    {{ relation }} as {{ alias }}
    {%- if incremental_mode() %}
        inner join {{ ref('int_touchpoint_changes') }} as changes
            on {{ alias }}.actor_id = changes.actor_id
        where changes.rebuild_from is null or {{ alias }}.{{ time_column }} >= changes.rebuild_from
    {%- endif %}
{%- endmacro %}


{% macro resumed_purchases() -%}
    {#- The orders of the purchases int_attribution_touches rebuilds for the changed actors: a
        changed actor's purchases from its rebuild_from, all of them when it is null
        (DECISIONLOG 140). -#}
    (select purchases.order_id
    from {{ ref('int_purchases') }} as purchases
    inner join {{ ref('int_touchpoint_changes') }} as changes
        on purchases.user_id = changes.actor_id
    where changes.rebuild_from is null or purchases.purchased_at >= changes.rebuild_from)
{%- endmacro %}


{% macro remapped_anonymous_ids() -%}
    {#- The anonymous_ids an incremental run maps again (intermediate.int_identity_map_changes). -#}
    (select changes.anonymous_id from {{ ref('int_identity_map_changes') }} as changes)
{%- endmacro %}


{% macro daily_materialization() -%}
    {#- The materialization of the daily models: incremental (append with a delete pre-hook).
        On Spark a `delete from` needs a Delta or Iceberg table; the session target writes plain
        Parquet tables, so there the daily models rebuild in full every run (a `table`:
        is_incremental() is false, so the pre-hook and the window do nothing). See DECISIONLOG
        ("Apache Spark through dbt-spark"). -#}
    {{- return(adapter.dispatch('daily_materialization', 'touchpoint_alchemy')()) -}}
{%- endmacro %}

{% macro default__daily_materialization() -%}
    {{- return('incremental') -}}
{%- endmacro %}

{% macro spark__daily_materialization() -%}
    {{- return('table') -}}
{%- endmacro %}
