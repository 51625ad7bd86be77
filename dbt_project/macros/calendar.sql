{#-
    Calendar helpers: local time of day and ISO weekday. Time zone conversion and the weekday
    are engine-specific, so they live here, behind adapter.dispatch.
-#}

{% macro from_utc_timestamp(expression, timezone) -%}
    {#- A UTC timestamp (without time zone) as the wall-clock time in `timezone`, an IANA name
        such as 'Asia/Shanghai' (still a timestamp without time zone). -#}
    {{ return(adapter.dispatch('from_utc_timestamp', 'touchpoint_alchemy')(expression, timezone)) }}
{%- endmacro %}

{% macro default__from_utc_timestamp(expression, timezone) -%}
    from_utc_timestamp({{ expression }}, {{ quote_literal(timezone) }})
{%- endmacro %}

{% macro duckdb__from_utc_timestamp(expression, timezone) -%}
    {#- timezone('UTC', ts) reads the naive value as UTC (a timestamptz); timezone(tz, tstz)
        gives the wall clock in tz. Independent of the session's TimeZone setting. -#}
    timezone({{ quote_literal(timezone) }}, timezone('UTC', {{ expression }}))
{%- endmacro %}


{% macro iso_weekday(expression) -%}
    {#- ISO day of the week of a timestamp or date: 1 = Monday .. 7 = Sunday. -#}
    {{ return(adapter.dispatch('iso_weekday', 'touchpoint_alchemy')(expression)) }}
{%- endmacro %}

{% macro default__iso_weekday(expression) -%}
    {#- Spark's dayofweek is 1 = Sunday .. 7 = Saturday. -#}
    (((dayofweek({{ expression }}) + 5) % 7) + 1)
{%- endmacro %}

{% macro duckdb__iso_weekday(expression) -%}
    isodow({{ expression }})
{%- endmacro %}


{% macro iso_weekday_name(weekday) -%}
    {#- English name of an ISO weekday number (portable). -#}
    (case {{ weekday }}
        when 1 then 'Monday'
        when 2 then 'Tuesday'
        when 3 then 'Wednesday'
        when 4 then 'Thursday'
        when 5 then 'Friday'
        when 6 then 'Saturday'
        when 7 then 'Sunday'
    end)
{%- endmacro %}
