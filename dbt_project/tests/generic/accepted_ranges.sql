{#-
    Every non-null value of each column lies within its [min_value, max_value] (either bound
    optional): `ranges` maps a column to its bounds. One test per model, a count of each
    column's values outside (DECISIONLOG 135): a row per column that has some, with their
    count; the test's failures are those values in all.
-#}
{% test accepted_ranges(model, ranges) %}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set checks = {} -%}
{%- for column, bounds in ranges.items() -%}
    {%- set outside = [] -%}
    {%- if bounds.get('min_value') is not none -%}
        {%- do outside.append(column ~ ' < ' ~ bounds['min_value']) -%}
    {%- endif -%}
    {%- if bounds.get('max_value') is not none -%}
        {%- do outside.append(column ~ ' > ' ~ bounds['max_value']) -%}
    {%- endif -%}
    {%- if not outside -%}
        {{ exceptions.raise_compiler_error(
            "accepted_ranges: give " ~ column ~ " a min_value, a max_value or both") }}
    {%- endif -%}
    {%- do checks.update({column: outside | join(' or ')}) -%}
{%- endfor %}
{{ failing_rows_by_column(model, checks) }}
{% endtest %}
