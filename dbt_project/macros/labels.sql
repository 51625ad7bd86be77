{#-
    label(kind, value): the label ``value`` of var ``kind`` (rfm_segments, churn_risk_bands,
    churn_snapshots: the labels SQL and Python share, dbt_project.yml) as a SQL string literal.
    A value the var does not list fails the compile, so SQL cannot drift from the labels the
    Python scoring writes (touchpoint_alchemy.labels reads the same vars).
    labels(kind, values): several, comma-separated, for an `in (...)` list.
-#}
{% macro label(kind, value) -%}
    {%- set known = var(kind) -%}
    {%- if value not in known -%}
        {{ exceptions.raise_compiler_error(
            "label " ~ value ~ " is not one of var('" ~ kind ~ "'): " ~ (known | join(', '))) }}
    {%- endif -%}
    {{- quote_literal(value) -}}
{%- endmacro %}


{% macro labels(kind, values) -%}
    {%- for value in values -%}
        {{- label(kind, value) -}}{{- ', ' if not loop.last -}}
    {%- endfor -%}
{%- endmacro %}
