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
    {%- set window = incremental_window() -%}
    {%- if window is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(dbt.dateadd(
        'day', -1 * window.lookback,
        'cast(' ~ quote_literal(window.start) ~ ' as ' ~ dbt.type_timestamp() ~ ')'
    )) -}}
{%- endmacro %}


{% macro incremental_window() -%}
    {#- The window of a windowed run, {start: 'YYYY-MM-DD', lookback: days}, or none for a full
        build. -#}
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
    {{- return({'start': start, 'lookback': lookback | int}) -}}
{%- endmacro %}


{% macro raw_time_may_be_in_window(expression) -%}
    {#- A condition on a raw timestamp's text that every value a windowed run reprocesses meets
        (DECISIONLOG 145): a value that parses to a time at or after incremental_since(), and
        one that does not parse at all unless its text begins with a date well before the
        window. False only for text that sorts before '<since minus 2 days>' and begins with a
        digit 1 or higher: such text is a zero-padded date before that day (a year of four
        digits; the offset and a 24:00 clock add at most 48 hours to it), an unpadded one that
        sorts with it, or a year of five digits or more. Text with a leading blank, zero or sign
        sorts before '1' and is kept, as is a null. Range comparisons on the text only, so
        DuckDB evaluates them in the Parquet scan and reads the other columns of the rows kept
        alone. True on a full build. -#}
    {%- set window = incremental_window() -%}
    {%- if window is none -%}
        {{- return('true') -}}
    {%- endif -%}
    {%- set first_day = modules.datetime.datetime.strptime(window.start, '%Y-%m-%d').date() -%}
    {%- set floor = (first_day - modules.datetime.timedelta(days=window.lookback + 2)).isoformat() -%}
    ({{ expression }} is null or {{ expression }} >= {{ quote_literal(floor) }} or {{ expression }} < '1')
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
    {#- True for a row of a user who no longer consents: in int_held_users (every user the
        daily tables may hold) and no longer in int_users. The daily models' pre-hooks delete
        these rows on every run. The users looked up are the few who left int_users since the
        last completed daily run, not every row's user against all of int_users: that probe cost
        0.4 to 1.7 s per table at 50M touchpoints, for no row most days (DECISIONLOG 144). A
        model that calls this declares `-- depends_on: {{ ref('int_held_users') }}`. -#}
    {{ user_id_column }} in (
        select held.user_id
        from {{ ref('int_held_users') }} as held
        where held.user_id not in (select users.user_id from {{ ref('int_users') }} as users)
    )
{%- endmacro %}


{% macro hold_users() -%}
    {#- Post-hook of int_users: add its new users to int_held_users, so that the users a daily
        table can hold (every user int_users has listed since the last completed daily run) are
        there whatever a dbt command selects. -#}
    insert into {{ ref('int_held_users') }} (user_id)
    select users.user_id
    from {{ this }} as users
    where users.user_id not in (select held.user_id from {{ ref('int_held_users') }} as held)
{%- endmacro %}


{% macro prune_held_users(results) -%}
    {#- on-run-end (dbt_project.yml): when every daily model ran and succeeded in this command,
        each has deleted the rows of the users who left int_users, so int_held_users drops them
        and is int_users' ids again: no table keeps a list of withdrawn users. After any other
        command (a selection, a failure, a skipped model) the users stay held, and the next
        complete daily run deletes their rows. Not on Spark, where the daily models rebuild in
        full every run (daily_materialization) and a plain Parquet table has no delete. -#}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set succeeded = [] -%}
        {%- for result in results -%}
            {%- if result.status == 'success' and result.node is defined -%}
                {%- do succeeded.append(result.node.unique_id) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set nodes = {} -%}
        {%- set daily = [] -%}
        {%- for node in graph.nodes.values() -%}
            {%- if node.resource_type == 'model' -%}
                {%- do nodes.update({node.name: node}) -%}
                {%- if 'daily' in node.tags -%}
                    {%- do daily.append(node.unique_id) -%}
                {%- endif -%}
            {%- endif -%}
        {%- endfor -%}
        {%- set missing = daily | reject('in', succeeded) | list -%}
        {%- if daily and not missing -%}
            {%- set held = nodes['int_held_users'] -%}
            {%- set users = nodes['int_users'] -%}
            delete from {{ held.relation_name }}
            where user_id not in (select users.user_id from {{ users.relation_name }} as users)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro changed_actors() -%}
    {#- The actors whose rows an incremental run rebuilds (intermediate.int_touchpoint_changes). -#}
    (select actor_id from {{ ref('int_touchpoint_changes') }})
{%- endmacro %}


{% macro delete_rebuilt_rows(time_column, actor_column='actor_id', period=none, window_seconds=0) -%}
    {#- Pre-hook of the models that resume each changed actor from its rebuild_from (the session
        models int_touchpoints, int_sessions and int_session_paths, DECISIONLOG 138; the
        attribution touches by purchase time, 140; the funnel chains by entry day and the actor
        x month facts by month, 146): before the new rows go in, delete each changed actor's
        rows (its id in `actor_column`) from its rebuild_from (all of them when it is null), by
        the row's time `time_column`; rows before it are kept: they end before an activity run
        starts (int_touchpoint_changes). With `period` ('day', 'month'), `time_column` is that
        period's start and the rows kept are those of the periods before the one that holds
        rebuild_from minus `window_seconds` (resume_floor). Every row when the run is not
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
                    or rebuilt.{{ time_column }}
                    >= {{ resume_floor('changes.rebuild_from', period, window_seconds) }}
                )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro delete_resumed_actor_days() -%}
    {#- Pre-hook of int_actor_days: delete each changed actor's days from its last active day
        before the day that holds its rebuild_from (whose row carries the next active day), or
        from that day when it has none before; all its days when rebuild_from is null. Every row
        when the run is not windowed. -#}
    {%- if is_incremental() -%}
        {%- if incremental_since() is none -%}
            delete from {{ this }}
        {%- else -%}
            delete from {{ this }} as rebuilt
            using (
                select
                    changes.actor_id,
                    changes.rebuild_from,
                    coalesce(
                        max(stored.activity_date),
                        cast(changes.rebuild_from as date)
                    ) as first_rebuilt_date
                from {{ ref('int_touchpoint_changes') }} as changes
                left join {{ this }} as stored
                    on
                        changes.actor_id = stored.actor_id
                        and stored.activity_date < cast(changes.rebuild_from as date)
                group by changes.actor_id, changes.rebuild_from
            ) as floors
            where
                floors.actor_id = rebuilt.actor_id
                and (
                    floors.rebuild_from is null
                    or rebuilt.activity_date >= floors.first_rebuilt_date
                )
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}


{% macro resume_floor(rebuild_from, period=none, window_seconds=0) -%}
    {#- Where a model that resumes from `rebuild_from` starts again: `rebuild_from` itself, or,
        for a model whose rows are `period`s ('day', 'month') of a result that reaches
        `window_seconds` forward (a funnel chain from its entry, an intent's outcome), the start
        of the period that holds `rebuild_from` minus the window, as a date. A period before it
        ends at or before rebuild_from minus the window, so nothing it reads is at or after
        rebuild_from, and every touchpoint before rebuild_from is kept as it was. -#}
    {%- if period is none -%}
        {{ rebuild_from }}
    {%- else -%}
        cast({{ dbt.date_trunc(period, dbt.dateadd('second', -1 * window_seconds, rebuild_from)) }}
            as {{ dbt.type_timestamp() }})
    {%- endif -%}
{%- endmacro %}


{% macro rebuilt_session_rows(relation, alias, time_column='occurred_at', period=none, window_seconds=0) -%}
    {#- `relation` as `alias`, and in an incremental run only its rows that the resumed models
        rebuild (see delete_rebuilt_rows; `period` and `window_seconds`: resume_floor): joined
        with int_touchpoint_changes, one row per actor, so no row is repeated. -#}
    {{ relation }} as {{ alias }}
    {%- if incremental_mode() %}
        inner join {{ ref('int_touchpoint_changes') }} as changes
            on {{ alias }}.actor_id = changes.actor_id
        where
            changes.rebuild_from is null
            or {{ alias }}.{{ time_column }}
            >= {{ resume_floor('changes.rebuild_from', period, window_seconds) }}
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


{% macro oldest_late_since() -%}
    {#- The time of the oldest late row this run stages (staging.base_touchpoints_late), as a
        SQL timestamp literal, or none when there is none: a scan of the staged touchpoints
        bounded below by it skips the older row groups, where a condition on the late rows'
        keys alone reads every row (DECISIONLOG 139, 156). Read when the model runs. -#}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set bounds = run_query('select min(occurred_at) from ' ~ ref('base_touchpoints_late')) -%}
    {%- set oldest = bounds.columns[0].values()[0] -%}
    {%- if oldest is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return('cast(' ~ quote_literal(oldest | string) ~ ' as ' ~ dbt.type_timestamp() ~ ')') -}}
{%- endmacro %}
