{#- Helpers shared by the base models that validate raw rows. -#}

{% macro run_started_at_timestamp() -%}
    {#- The start of this dbt invocation, UTC. The only clock the warehouse reads. -#}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S") }}' as {{ dbt.type_timestamp() }})
{%- endmacro %}


{% macro is_in_future(timestamp_column) -%}
    {#- More than one day after the start of the run. -#}
    ({{ timestamp_column }} > {{ dbt.dateadd('day', 1, run_started_at_timestamp()) }})
{%- endmacro %}


{% macro record_to_json(columns) -%}
    {#- The given text columns as one JSON object, keys in the given order. -#}
    {{ return(adapter.dispatch('record_to_json', 'touchpoint_alchemy')(columns)) }}
{%- endmacro %}

{% macro default__record_to_json(columns) -%}
    to_json(named_struct(
        {%- for column in columns %}
        '{{ column }}', {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    ))
{%- endmacro %}

{% macro spark__record_to_json(columns) -%}
    {#- Spark's to_json drops null fields unless told otherwise; DuckDB keeps them as null. -#}
    to_json(named_struct(
        {%- for column in columns %}
        '{{ column }}', {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    ), map('ignoreNullFields', 'false'))
{%- endmacro %}

{% macro duckdb__record_to_json(columns) -%}
    cast(to_json(struct_pack(
        {%- for column in columns %}
        {{ adapter.quote(column) }} := {{ adapter.quote(column) }}{{ "," if not loop.last }}
        {%- endfor %}
    )) as varchar)
{%- endmacro %}


{% macro raw_record_value(record, column) -%}
    {#- The text of raw column `column` in a rejected row's `_raw_record` (record_to_json). -#}
    {{ return(adapter.dispatch('raw_record_value', 'touchpoint_alchemy')(record, column)) }}
{%- endmacro %}

{% macro default__raw_record_value(record, column) -%}
    get_json_object({{ record }}, '$.{{ column }}')
{%- endmacro %}

{% macro duckdb__raw_record_value(record, column) -%}
    json_extract_string({{ record }}, '$.{{ column }}')
{%- endmacro %}


{% macro key_occurrence(key_columns) -%}
    {#- 1 for the first row of each key in file order, 2 for the next, ... -#}
    row_number() over (
        partition by {{ key_columns | join(', ') }}
        order by _source_row_number
    )
{%- endmacro %}


{% macro record_key(key_columns) -%}
    {#- The key as text; composite keys joined with '|'. -#}
    {%- if key_columns | length == 1 -%}
        {{ key_columns[0] }}
    {%- else -%}
        {{ dbt.concat(intersperse_literal(key_columns, '|')) }}
    {%- endif -%}
{%- endmacro %}

{% macro intersperse_literal(columns, separator) -%}
    {%- set parts = [] -%}
    {%- for column in columns -%}
        {%- do parts.append("coalesce(" ~ column ~ ", '')") -%}
        {%- if not loop.last -%}{%- do parts.append("'" ~ separator ~ "'") -%}{%- endif -%}
    {%- endfor -%}
    {{- return(parts) -}}
{%- endmacro %}


{% macro quarantine_columns(reason, key_columns, raw_columns) -%}
    {#- The three columns every base model ends with. The key and the raw record are written for
        rejected rows only: the quarantine reads nothing else, and a valid row has its key in its
        own columns. A second copy of every touchpoint_id cost 6 to 8 s of the 61 s that
        base_touchpoints takes at 50M touchpoints (DECISIONLOG 114). -#}
    {{ reason }} as _rejection_reason,
    case
        when {{ reason }} is not null then {{ record_key(key_columns) }}
    end as _record_key,
    case
        when {{ reason }} is not null then {{ record_to_json(raw_columns) }}
    end as _raw_record
{%- endmacro %}
