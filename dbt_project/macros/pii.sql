{#-
    PII hashing. E-mail addresses and phone numbers are normalised, salted and hashed with
    SHA-256 as the raw rows are read, so the raw value never reaches a table or a view.
    The salt comes from PII_HASH_SALT; the default is for development only.
-#}

{% macro pii_salt() -%}
    {{- env_var('PII_HASH_SALT', 'touchpoint-alchemy-dev-salt') -}}
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
