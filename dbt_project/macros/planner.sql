{#-
    Joins built on the side the SQL names (DECISIONLOG 152).

    DuckDB hashes the side of a join it estimates smaller, and turns `x in (subquery)` around
    (a RIGHT_SEMI join: the hash table of every x) when it estimates the subquery larger. Its
    estimates know nothing of a filter on raw text or of a CTE read twice: in a windowed run of
    base_touchpoints the run's 229k keys were estimated at 63M, and the lookup of the kept rows
    hashed all 52.8M touchpoint_ids of history (7.1-7.7 s against 4.7-5.4 s for the model at
    50M, the same rows); int_touchpoint_changes hashed every session's actor the same way.

    The side written on the right of a join (the subquery of `in`, the joined table) is then
    the one hashed. A model whose windowed run measured faster with its joins built as written
    calls both as hooks, around its query:

        pre_hook=[..., "{{ joins_build_as_written() }}"],
        post_hook=["{{ joins_build_as_planned() }}", ...]

    On DuckDB, in a windowed run only, the first turns the planner's choice of sides off for the
    connection and the second turns it back on. Elsewhere (a full build, Spark) both are empty,
    and dbt skips an empty hook. If the model fails between the two, the setting stays for the
    models the same dbt command runs after it: their results are the same, only their joins'
    sides are those written.
-#}

{% macro joins_build_as_written() -%}
    {{- return(adapter.dispatch('joins_build_as_written', 'touchpoint_alchemy')()) -}}
{%- endmacro %}

{% macro default__joins_build_as_written() -%}
{%- endmacro %}

{% macro duckdb__joins_build_as_written() -%}
    {%- if incremental_since() is not none -%}
        set disabled_optimizers = 'build_side_probe_side'
    {%- endif -%}
{%- endmacro %}


{% macro joins_build_as_planned() -%}
    {{- return(adapter.dispatch('joins_build_as_planned', 'touchpoint_alchemy')()) -}}
{%- endmacro %}

{% macro default__joins_build_as_planned() -%}
{%- endmacro %}

{% macro duckdb__joins_build_as_planned() -%}
    {%- if incremental_since() is not none -%}
        reset disabled_optimizers
    {%- endif -%}
{%- endmacro %}
