{#-
    None of these columns holds a null. One test per model, a count of the nulls of each column
    (DECISIONLOG 135): a row per column that has nulls, with their count; the test's failures
    are the nulls in all. Its compiled SQL, run by hand, names the columns.
-#}
{% test not_null_columns(model, columns) %}
{{ config(fail_calc='coalesce(sum(failing_rows), 0)') }}
{%- set checks = {} -%}
{%- for column in columns -%}
    {%- do checks.update({column: column ~ ' is null'}) -%}
{%- endfor %}
{{ failing_rows_by_column(model, checks) }}
{% endtest %}
