{#-
    scoring_columns(name): the declared columns of scoring.<name> (the source the Python
    scoring assets write, models/staging/scoring/_scoring.yml), in their declared order, as a
    select list. The stg_scoring__* views select exactly these, so a declared column the asset
    did not write fails the build.
-#}
{% macro scoring_columns(name) -%}
    {%- set columns = [] -%}
    {%- if execute -%}
        {%- for node in graph.sources.values() -%}
            {%- if node.source_name == 'scoring' and node.name == name -%}
                {%- for column in node.columns -%}
                    {%- do columns.append(adapter.quote(column)) -%}
                {%- endfor -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if columns | length == 0 -%}
            {{ exceptions.raise_compiler_error("scoring source '" ~ name ~ "' declares no columns") }}
        {%- endif -%}
    {%- else -%}
        {%- do columns.append('*') -%}
    {%- endif -%}
    {{- return(columns | join(',\n    ')) -}}
{%- endmacro %}
