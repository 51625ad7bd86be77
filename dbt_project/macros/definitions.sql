{#- Business definitions used in more than one model. Each one is written once, here. -#}

{% macro is_purchase(paid_at, status) -%}
    {#- Purchase: paid, and not cancelled or refunded. Its time is created_at and its revenue
        amount - discount. -#}
    ({{ paid_at }} is not null and {{ status }} not in ('cancelled', 'refunded'))
{%- endmacro %}


{% macro configured_data_cutoff() -%}
    {#- The configured data cutoff as a timestamp literal, or none: the `data_cutoff` var when
        one is given (`dbt --vars`), else the environment variable DATA_CUTOFF (the orchestrated
        runs set it for dbt; blank: none). A bare date means the end of that day (UTC). Read only
        while dbt executes, so the saved parse holds whatever the cutoff (DECISIONLOG 91). -#}
    {%- if not execute -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set configured = var('data_cutoff', none) -%}
    {%- if configured is none or configured | string | trim == '' -%}
        {%- set configured = env_var('DATA_CUTOFF', '') -%}
    {%- endif -%}
    {%- if configured is none or configured | string | trim == '' -%}
        {{- return(none) -}}
    {%- endif -%}
    {%- set text = configured | string | trim -%}
    {%- if not modules.re.match('^[0-9]{4}-[0-9]{2}-[0-9]{2}([ T][0-9:.]+)?$', text) -%}
        {{ exceptions.raise_compiler_error(
            "data_cutoff must be a date (YYYY-MM-DD) or a timestamp, got: " ~ text) }}
    {%- endif -%}
    {%- if text | length == 10 -%}
        {%- set text = text ~ ' 23:59:59.999999' -%}
    {%- endif -%}
    {{- return("cast('" ~ text | replace('T', ' ') ~ "' as " ~ dbt.type_timestamp() ~ ")") -}}
{%- endmacro %}
