{#-
    PII hashing. E-mail addresses and phone numbers are normalised, salted and hashed with
    SHA-256 as the raw rows are read, so the raw value never reaches a table or a view.
    The salt comes from PII_HASH_SALT (unset or empty: the development default). With
    TOUCHPOINT_ENV=production the default is refused, here and in the raw_files asset
    (orchestration/privacy.py, check_hash_salt).
-#}

{% macro pii_salt() -%}
    {%- set default = 'touchpoint-alchemy-dev-salt' -%}
    {%- set salt = env_var('PII_HASH_SALT', '') -%}
    {%- if salt | trim == '' or salt == default -%}
        {%- if env_var('TOUCHPOINT_ENV', '') | trim | lower in ['production', 'prod'] -%}
            {{ exceptions.raise_compiler_error(
                "Refusing to build: TOUCHPOINT_ENV=production but PII_HASH_SALT is not set or "
                ~ "is the development default, so every e-mail and phone hash could be reversed. "
                ~ "Set PII_HASH_SALT to a long random secret and keep it stable.") }}
        {%- endif -%}
        {{- return(default) -}}
    {%- endif -%}
    {{- return(salt) -}}
{%- endmacro %}


{% macro hash_pii(expression) -%}
    {#- Hex SHA-256 of salt || value; null stays null. -#}
    {{ return(adapter.dispatch('hash_pii', 'touchpoint_alchemy')(expression)) }}
{%- endmacro %}

{% macro default__hash_pii(expression) -%}
    sha2(concat({{ quote_literal(pii_salt()) }}, {{ expression }}), 256)
{%- endmacro %}

{% macro duckdb__hash_pii(expression) -%}
    sha256({{ quote_literal(pii_salt()) }} || {{ expression }})
{%- endmacro %}


{% macro normalize_email(expression) -%}
    nullif(lower(trim({{ expression }})), '')
{%- endmacro %}


{% macro normalize_phone(expression) -%}
    {#- Keep digits and a leading plus: "+86 138-0013-8000" -> "+8613800138000". -#}
    nullif({{ keep_phone_characters(expression) }}, '')
{%- endmacro %}

{% macro keep_phone_characters(expression) -%}
    {{ return(adapter.dispatch('keep_phone_characters', 'touchpoint_alchemy')(expression)) }}
{%- endmacro %}

{% macro default__keep_phone_characters(expression) -%}
    regexp_replace(trim({{ expression }}), '[^0-9+]', '')
{%- endmacro %}

{% macro duckdb__keep_phone_characters(expression) -%}
    regexp_replace(trim({{ expression }}), '[^0-9+]', '', 'g')
{%- endmacro %}
