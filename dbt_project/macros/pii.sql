{#-
    PII hashing. E-mail addresses and phone numbers are normalised and hashed as the raw rows
    are read, so the raw value never reaches a table or a view: HMAC-SHA-256 (RFC 2104), hex,
    keyed with PII_HASH_SALT (unset or blank: the development default). The SQL never holds the
    key, so it reaches no compiled SQL, dbt artifact, log or view definition (DECISIONLOG.md, 48):

    - DuckDB: the dbt-duckdb plugin touchpoint_alchemy.dbt_duckdb_plugin (profiles.yml) sets the
      HMAC pads of the key as session variables of every connection; the SQL reads them with
      getvariable(). The plugin also refuses the development key with TOUCHPOINT_ENV=production.
    - Spark: profiles.yml passes the key, URL-encoded, as the session conf
      spark.touchpoint.pii_key; Spark substitutes '${spark.touchpoint.pii_key}' when it parses
      the statement, and folds the pads into constants.

    Nothing here reads PII_HASH_SALT; the Dagster raw_files step checks it before a build
    (orchestration/privacy.py).
-#}

{% macro hash_pii(expression) -%}
    {#- Hex HMAC-SHA-256 of the value (as UTF-8) with the PII key; null stays null. -#}
    {{ return(adapter.dispatch('hash_pii', 'touchpoint_alchemy')(expression)) }}
{%- endmacro %}

{% macro duckdb__hash_pii(expression) -%}
    sha256(
        {{ pii_hmac_pad('opad') }}
        || unhex(sha256({{ pii_hmac_pad('ipad') }} || encode({{ expression }})))
    )
{%- endmacro %}

{% macro pii_hmac_pad(name) -%}
    {#- A pad set by the plugin; without it (a profile without the plugin) the query fails
        rather than writing null hashes. Both casts matter: a missing variable is an untyped
        null, and `null || blob` would be bound to a constant null without calling error(). -#}
    coalesce(
        cast(getvariable('pii_hmac_{{ name }}') as blob),
        cast(error('No PII hashing key on this connection: the duckdb output of profiles.yml '
            || 'must load the plugin touchpoint_alchemy.dbt_duckdb_plugin') as blob)
    )
{%- endmacro %}

{% macro default__hash_pii(expression) -%}
    {#- Spark SQL. raw: the conf as substituted by Spark (empty when it is not set). -#}
    {%- set raw = "'${spark.touchpoint.pii_key}'" -%}
    {%- set key = "url_decode(" ~ raw ~ ")" -%}
    case
        when {{ raw }} in ('', concat('$', '{spark.touchpoint.pii_key}'))
            then raise_error('No PII hashing key: the spark output of profiles.yml must set '
                || 'spark.touchpoint.pii_key from PII_HASH_SALT')
        {%- if env_var('TOUCHPOINT_ENV', '') | trim | lower in ['production', 'prod'] %}
        when {{ key }} = 'touchpoint-alchemy-dev-salt'
            then raise_error('Refusing to build: TOUCHPOINT_ENV=production but PII_HASH_SALT '
                || 'is not set or is the development default. Set PII_HASH_SALT to a long '
                || 'random secret and keep it stable.')
        {%- endif %}
        else sha2(concat(
            {{ spark_hmac_pad(key, 92) }},
            unhex(sha2(concat({{ spark_hmac_pad(key, 54) }}, cast({{ expression }} as binary)), 256))
        ), 256)
    end
{%- endmacro %}

{% macro spark_hmac_pad(key, pad_byte) -%}
    {#- RFC 2104 on Spark: the key as UTF-8 (SHA-256'd when longer than 64 bytes), zero-padded
        to 64 bytes, XOR the pad byte (54 = 0x36 inner, 92 = 0x5c outer), as 16 words of four
        bytes. No lambda, so Spark folds the whole pad into one binary constant. -#}
    {%- set block -%}
        rpad(hex(case when octet_length({{ key }}) > 64 then unhex(sha2({{ key }}, 256))
            else cast({{ key }} as binary) end), 128, '0')
    {%- endset -%}
    unhex(concat(
        {%- for word in range(16) %}
        lpad(hex(cast(conv(substr({{ block }}, {{ 8 * word + 1 }}, 8), 16, 10) as bigint)
            ^ {{ pad_byte * 16843009 }}), 8, '0'){{ ',' if not loop.last }}
        {%- endfor %}
    ))
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
