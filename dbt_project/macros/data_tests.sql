{#-
    The key tests of the daily models read the rows a daily run wrote (DECISIONLOG 77).

    dbt's generic tests read their model through `get_where_subquery(relation)` (it applies the
    `where` config); this override also restricts a key test (`unique`,
    `unique_combination_of_columns`: data_test_windowed_tests()) of a model that declares its
    window in its YAML,

        config: {meta: {test_window: "<SQL condition>"}}

    to `(select * from <model> where <condition>) dbt_test_window` on a daily incremental run.
    The condition is the rows the model's daily run rewrites (mirroring its pre-hook's delete):
    `{since}` stands for the window's start minus the lookback (incremental_since()) and
    `{<model name>}` for that model's relation, which must be an ancestor of the tested model
    (built before its tests in the same `dbt build`). The other tests (not_null, ranges,
    relationships, ...) read whole tables: a scan with a null check costs less than the window's
    condition, a key test's aggregation over every row is what the window saves.

    The window applies only when a test runs (`execute`), like incremental_since(): the env vars
    are read at execution time, so dbt's saved parse survives from day to day (DECISIONLOG 71).
    Every test reads whole tables without INCREMENTAL_WINDOW_START (or the var), with
    --full-refresh, on Spark (the daily models are rebuilt in full there), and when
    DATA_TEST_SCOPE is `full`: Dagster sets it on the weekly run (`touchpoint/refit=true`) and on
    a first build (orchestration/data_test_scope.py).
-#}

{% macro get_where_subquery(relation) -%}
    {%- set subquery = adapter.dispatch('get_where_subquery', 'dbt')(relation) -%}
    {%- set window = data_test_window(relation) if execute else none -%}
    {%- if window is none -%}
        {{- return(subquery) -}}
    {%- endif -%}
    {%- set windowed -%}
        (select * from {{ subquery }} where {{ window }}) dbt_test_window
    {%- endset -%}
    {{- return(windowed) -}}
{%- endmacro %}


{% macro data_test_windowed_tests() -%}
    {#- The generic tests that read a daily run's window: the keys and grains, whose aggregation
        over every row is most of the tests' cost (duplicates among the rows written). -#}
    {{- return(['unique', 'unique_combination_of_columns']) -}}
{%- endmacro %}


{% macro data_test_scope() -%}
    {#- 'window' (the default) or 'full': DATA_TEST_SCOPE, read at execution time only. -#}
    {{- return(execution_choice('DATA_TEST_SCOPE', ['window', 'full'])) -}}
{%- endmacro %}


{% macro execution_choice(variable, values) -%}
    {#- The environment variable `variable`, one of `values` (lower case; unset or blank: the
        first), read when a node runs, never while dbt parses, so the saved parse survives
        whatever the run sets (DECISIONLOG 71). Another value fails the node, naming the
        variable and the values it takes. -#}
    {%- set value = (env_var(variable, '') if execute else '') | trim | lower -%}
    {%- if value and value not in values -%}
        {{ exceptions.raise_compiler_error(variable ~ " must be '" ~ values | join("' or '")
            ~ "', got '" ~ value ~ "'") }}
    {%- endif -%}
    {{- return(value or values[0]) -}}
{%- endmacro %}


{% macro data_test_window(relation) -%}
    {#- The SQL condition of the rows of `relation` this run wrote, when the running data test
        reads only those, or none. -#}
    {%- if not execute or model.resource_type != 'test' or not model.get('attached_node') -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set test_name = (model.get('test_metadata') or {}).get('name') -%}
    {%- set tested = graph.nodes.get(model.attached_node) -%}
    {%- if tested is none or test_name not in data_test_windowed_tests() -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set condition = (tested.config.meta or {}).get('test_window') -%}
    {%- if not condition or relation.identifier != tested.alias -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- if data_test_scope() == 'full' or daily_materialization() != 'incremental' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set since = incremental_since() -%}
    {%- if since is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set found = namespace(sql=condition | replace('{since}', since)) -%}
    {%- for name in modules.re.findall('[{]([A-Za-z0-9_]+)[}]', found.sql) | unique -%}
        {%- set node = graph.nodes.get('model.' ~ project_name ~ '.' ~ name) -%}
        {%- if node is none -%}
            {{ exceptions.raise_compiler_error(
                "meta.test_window of " ~ tested.name ~ " names {" ~ name ~ "}: not a model") }}
        {%- endif -%}
        {%- set other = api.Relation.create(
            database=node.database, schema=node.schema, identifier=node.alias) -%}
        {%- set found.sql = found.sql | replace('{' ~ name ~ '}', other | string) -%}
    {%- endfor -%}
    {{- return(found.sql) -}}
{%- endmacro %}


{% macro failing_rows_by_column(model, checks) -%}
    {#- The rows of `model` that fail each check, counted: `checks` maps a column to the SQL
        condition of a failing row. One row per column with failing rows (column_name,
        failing_rows), none when every check passes. A filtered count per column, not one
        aggregation of every condition: a filter that no row group can match (no nulls, no
        value out of bounds) is answered from DuckDB's row-group statistics without reading the
        rows, where an aggregation reads them all (DECISIONLOG 135). Portable SQL. -#}
    {%- for name, condition in checks.items() %}
    select
        {{ quote_literal(name) }} as column_name,
        count(*) as failing_rows
    from {{ model }}
    where {{ condition }}
    having count(*) > 0
    {%- if not loop.last %}

    union all
    {% endif %}
    {%- endfor %}
{%- endmacro %}
