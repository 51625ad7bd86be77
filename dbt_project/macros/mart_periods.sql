{#-
    Marts that keep their rows for the periods before the touchpoints changed (DECISIONLOG 147).

    A mart aggregated by period from the daily activity facts (int_actor_days,
    int_actor_event_days) changes, after a daily run, only in the periods from the earliest day
    whose touchpoints that run changed, and in those the data cutoff moved across. Such a mart is
    incremental on DuckDB (daily_materialization(): a table rebuilt in full on Spark): a windowed
    run deletes its rows from that day's period on (pre-hook), inserts them again, and records
    what it read in int_mart_builds (post-hook, in the same transaction).

    The day comes from int_touchpoint_change_log, one row per run of the daily models, over every
    run since the mart's last build, so a daily run the mart missed is covered. The mart rebuilds
    every row when it cannot tell: a run that is not windowed (a full refresh, no partition), no
    build recorded, a change log that no longer holds the recorded run, a run from all history
    since, other settings (`settings`: the mart's configuration as text), or no data cutoff.
-#}

{% macro mart_rebuild_floor(settings) -%}
    {#- The first day whose period this build rebuilds ('YYYY-MM-DD'), or none: every row. Read
        when the model runs (never while dbt parses), from int_mart_builds,
        int_touchpoint_change_log and int_data_cutoff. -#}
    {%- if not execute or not incremental_mode() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set query -%}
        with

        built as (
            select
                change_log_run,
                change_log_logged_at,
                data_cutoff_at,
                settings
            from {{ ref('int_mart_builds') }}
            where mart = {{ quote_literal(this.identifier) }}
        ),

        logged as (
            select
                count(*) as runs,
                sum(case when log.rebuilt_all then 1 else 0 end) as runs_from_all_history,
                min(log.changed_from) as changed_from
            from {{ ref('int_touchpoint_change_log') }} as log
            inner join built on log.run_number > built.change_log_run
        ),

        recorded_run as (
            select count(*) as found
            from {{ ref('int_touchpoint_change_log') }} as log
            inner join built
                on
                    log.run_number = built.change_log_run
                    and log.logged_at = built.change_log_logged_at
        )

        select
            (select count(*) from built) as builds,
            (select max(settings) from built) as settings,
            (select found from recorded_run) as found,
            (select runs_from_all_history from logged) as runs_from_all_history,
            (select changed_from from logged) as changed_from,
            cast((select max(data_cutoff_at) from built) as date) as previous_cutoff_date,
            cast((select max(data_cutoff_at) from {{ ref('int_data_cutoff') }}) as date) as cutoff_date
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- if row['builds'] != 1 or row['settings'] != settings or row['found'] != 1
        or (row['runs_from_all_history'] or 0) > 0
        or row['previous_cutoff_date'] is none or row['cutoff_date'] is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set days = [] -%}
    {%- for day in [row['previous_cutoff_date'], row['cutoff_date'], row['changed_from']] -%}
        {%- if day is not none -%}
            {%- do days.append((day | string)[:10]) -%}
        {%- endif -%}
    {%- endfor -%}
    {{- return(days | min) -}}
{%- endmacro %}


{% macro checked_mart_floor(settings, checks) -%}
    {#- mart_rebuild_floor(settings), or none (every row) when the mart's rows before the floor
        no longer add up to the facts they were built from. Each of `checks`, a dict, covers the
        rows of one period type: the sum of `kept` over the mart's `rows` (a condition) whose
        `period_column` is before the start of the `period_type` that holds the floor, against
        `facts` (default count(*): the actor-days) of int_actor_days before it (every day before
        the floor is before the cutoff, so all count). The checks together must cover every row
        the build keeps. A change the log does not know makes them differ: an erasure
        (touchpoint_alchemy/erase.py) deletes a user's days from the facts outside the daily
        runs. -#}
    {%- set floor = mart_rebuild_floor(settings) -%}
    {%- if floor is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set query -%}
        select
        {%- for check in checks %}
            {%- set bound = period_floor(check.period_type, floor) %}
            (
                select coalesce(sum({{ check.kept }}), 0) from {{ this }}
                where {{ check.rows }} and {{ check.period_column }} < {{ bound }}
            ) as kept_{{ loop.index }},
            (
                select {{ check.get('facts', 'count(*)') }} from {{ ref('int_actor_days') }}
                where activity_date < {{ bound }}
            ) as found_{{ loop.index }}
            {%- if not loop.last %},{% endif %}
        {%- endfor %}
    {%- endset -%}
    {%- set row = run_query(query).rows[0] -%}
    {%- for check in checks -%}
        {%- set kept, found = row['kept_' ~ loop.index], row['found_' ~ loop.index] -%}
        {%- if kept != found -%}
            {%- do log(this.identifier ~ ': the ' ~ check.period_type ~ ' rows kept count ' ~ kept
                ~ ', the facts ' ~ found ~ ' (a change outside the daily runs): rebuilding every row',
                info=True) -%}
            {{- return(none) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(floor) -}}
{%- endmacro %}


{% macro period_floor(period_type, floor) -%}
    {#- The first day of the `period_type` ('day', 'week', 'month') that holds the day `floor`
        ('YYYY-MM-DD'), as a SQL date. -#}
    {%- set day = 'cast(' ~ quote_literal(floor) ~ ' as date)' -%}
    {%- if period_type == 'day' -%}
        {{ day }}
    {%- else -%}
        cast({{ dbt.date_trunc(period_type, day) }} as date)
    {%- endif -%}
{%- endmacro %}


{% macro delete_mart_periods(floor, period_start_by_type) -%}
    {#- Pre-hook of a mart that keeps its earlier periods: delete its rows from the period that
        holds `floor` on, per period type (`period_start_by_type`: {period type: the SQL of a
        row's period}), or every row when `floor` is none. Nothing on a first build or on Spark
        (not incremental). -#}
    {%- if is_incremental() -%}
        delete from {{ this }}
        {%- if floor is not none %}
        where
            {%- for period_type, period_start in period_start_by_type.items() %}
            {% if not loop.first %}or {% endif -%}
            (period_type = {{ quote_literal(period_type) }}
                and {{ period_start }} >= {{ period_floor(period_type, floor) }})
            {%- endfor %}
        {%- endif %}
    {%- endif -%}
{%- endmacro %}


{% macro record_mart_build(settings) -%}
    {{- return(adapter.dispatch('record_mart_build', 'touchpoint_alchemy')(settings)) -}}
{%- endmacro %}

{% macro default__record_mart_build(settings) -%}
    {#- Post-hook of a mart that keeps its earlier periods: its row of int_mart_builds becomes
        the last run of the daily models it read, this build's cutoff and `settings`. -#}
    delete from {{ ref('int_mart_builds') }} where mart = {{ quote_literal(this.identifier) }};
    insert into {{ ref('int_mart_builds') }}
        (mart, change_log_run, change_log_logged_at, data_cutoff_at, settings)
    {{ mart_build_row(settings) }}
{%- endmacro %}

{% macro spark__record_mart_build(settings) -%}
    {#- On Spark the marts are tables rebuilt in full (daily_materialization) and so is
        int_mart_builds, empty, whenever dbt builds it: the row is only added (a plain Parquet
        table has no delete), so that both engines hold the same tables. -#}
    insert into {{ ref('int_mart_builds') }}
    {{ mart_build_row(settings) }}
{%- endmacro %}

{% macro mart_build_row(settings) -%}
    {#- The row of int_mart_builds of this model's build: the last run of
        int_touchpoint_change_log, the data cutoff, `settings`. -#}
    select
        {{ quote_literal(this.identifier) }},
        max(log.run_number),
        max(case when log.run_number = last_run.run_number then log.logged_at end),
        (select max(cutoff.data_cutoff_at) from {{ ref('int_data_cutoff') }} as cutoff),
        {{ quote_literal(settings) }}
    from {{ ref('int_touchpoint_change_log') }} as log
    cross join (
        select max(run_number) as run_number from {{ ref('int_touchpoint_change_log') }}
    ) as last_run
{%- endmacro %}
