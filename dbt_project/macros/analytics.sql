{#- Small portable building blocks used by the intermediate models and marts. -#}

{% macro median(expression) -%}
    {{ return(adapter.dispatch('median', 'touchpoint_alchemy')(expression)) }}
{%- endmacro %}

{% macro default__median(expression) -%}
    percentile_cont(0.5) within group (order by {{ expression }})
{%- endmacro %}

{% macro duckdb__median(expression) -%}
    median({{ expression }})
{%- endmacro %}

{% macro spark__median(expression) -%}
    percentile({{ expression }}, 0.5)
{%- endmacro %}


{% macro first_by(value, order_by, condition) -%}
    {#- Aggregate: `value` of the row with the smallest (order_by[0], order_by[1], ...) among the
        group's rows where `condition` holds (null when none does). order_by must order the rows
        totally (its last column a key), so no tie is left. One pass of the grouping instead of
        a row_number() window and a join back. -#}
    {{ return(adapter.dispatch('first_by', 'touchpoint_alchemy')(value, order_by, condition)) }}
{%- endmacro %}

{% macro default__first_by(value, order_by, condition) -%}
    {#- Spark, Databricks, Trino: min_by over a struct (ordered field by field). -#}
    min_by({{ value }}, struct({{ order_by | join(', ') }})) filter (where {{ condition }})
{%- endmacro %}

{% macro duckdb__first_by(value, order_by, condition) -%}
    {#- arg_min_null: the value at the smallest key even when the value is null. -#}
    arg_min_null(
        {{ value }},
        struct_pack({% for column in order_by %}k{{ loop.index }} := {{ column }}{{ ", " if not loop.last }}{% endfor %})
    ) filter (where {{ condition }})
{%- endmacro %}


{% macro last_by(value, order_by) -%}
    {#- Aggregate: `value` of the row with the largest (order_by[0], order_by[1], ...) of the
        group. order_by must order the rows totally (its last column a key), so no tie is left.
        The mirror of first_by, without a condition: one pass of the grouping instead of a
        row_number() window ordered descending and a join back. -#}
    {{ return(adapter.dispatch('last_by', 'touchpoint_alchemy')(value, order_by)) }}
{%- endmacro %}

{% macro default__last_by(value, order_by) -%}
    max_by({{ value }}, struct({{ order_by | join(', ') }}))
{%- endmacro %}

{% macro duckdb__last_by(value, order_by) -%}
    arg_max_null(
        {{ value }},
        struct_pack({% for column in order_by %}k{{ loop.index }} := {{ column }}{{ ", " if not loop.last }}{% endfor %})
    )
{%- endmacro %}


{% macro safe_divide(numerator, denominator) -%}
    {#- Null, never an error, when the denominator is zero or null. -#}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}


{% macro generate_series(upper_bound) -%}
    {#- Integers 0 .. upper_bound - 1 as column `n`, from cross joins of a 0/1 row pair, so it
        works on every engine (like dbt_utils.generate_series, which cannot be installed). -#}
    {%- set bits = [] -%}
    {%- set limit = [upper_bound | int, 1] | max -%}
    {%- for i in range(0, 32) -%}
        {%- if 2 ** i < limit or i == 0 -%}{%- do bits.append(i) -%}{%- endif -%}
    {%- endfor %}
    (
        select n from (
            select
                {% for i in bits -%}
                p{{ i }}.b * {{ 2 ** i }}{{ " +" if not loop.last }}
                {% endfor -%}
                as n
            from
                {% for i in bits -%}
                (select 0 as b union all select 1 as b) as p{{ i }}{{ "," if not loop.last }}
                {% endfor %}
        ) as powers
        where n < {{ limit }}
    )
{%- endmacro %}


{% macro calendar_days(bounds, column) -%}
    {#- A select of one row per day from `first_date` to `last_date` of `bounds` (a CTE or relation
        of one row), both included, as the date column `column`; 40,000 days (over 100 years)
        bound it. The day grids of the activity marts and of the demand series. -#}
    select
        cast({{ dbt.dateadd('day', 'day_numbers.n', 'bounds.first_date') }} as date)
            as {{ column }}
    from {{ bounds }} as bounds
    cross join {{ generate_series(40000) }} as day_numbers
    where {{ dbt.dateadd('day', 'day_numbers.n', 'bounds.first_date') }} <= bounds.last_date
{%- endmacro %}


{% macro funnels() -%}
    {#- The configured funnels, validated: a name, two or more distinct steps, a window. -#}
    {%- set configured = var('funnels') -%}
    {%- set names = [] -%}
    {%- for funnel in configured -%}
        {%- if funnel.name is not defined or funnel.steps is not defined -%}
            {{ exceptions.raise_compiler_error("each funnel needs a name and steps: " ~ funnel) }}
        {%- endif -%}
        {%- if funnel.steps | length < 2 or funnel.steps | unique | list | length != funnel.steps | length -%}
            {{ exceptions.raise_compiler_error(
                "funnel '" ~ funnel.name ~ "' needs two or more distinct steps") }}
        {%- endif -%}
        {%- if funnel.window_days is defined
            and (funnel.window_days is not number or funnel.window_days is boolean
                 or funnel.window_days <= 0) -%}
            {{ exceptions.raise_compiler_error(
                "funnel '" ~ funnel.name ~ "': window_days must be a positive number of days, got: "
                ~ funnel.window_days) }}
        {%- endif -%}
        {%- if funnel.name in names -%}
            {{ exceptions.raise_compiler_error("funnel '" ~ funnel.name ~ "' is defined twice") }}
        {%- endif -%}
        {%- do names.append(funnel.name) -%}
    {%- endfor -%}
    {{- return(configured) -}}
{%- endmacro %}


{% macro funnel_window_seconds(funnel) -%}
    {{- return(((funnel.window_days if funnel.window_days is defined else 7) * 86400) | int) -}}
{%- endmacro %}


{% macro longest_funnel_window_seconds() -%}
    {#- The longest window of the configured funnels, in seconds. -#}
    {%- set windows = [] -%}
    {%- for funnel in funnels() -%}
        {%- do windows.append(funnel_window_seconds(funnel)) -%}
    {%- endfor -%}
    {{- return(windows | max) -}}
{%- endmacro %}
