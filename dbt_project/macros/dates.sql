{#-
    Exact date arithmetic on Spark. dbt-spark's own dbt.dateadd and dbt.datediff go through
    to_unix_timestamp, which drops the microseconds (a 7-day funnel window would end up to a
    second early or late) and depends on the session time zone; their microsecond datediff
    parses the timestamp's text. These overrides (the root project's spark__ macros win over
    the adapter's) use Spark's own interval arithmetic and count boundaries crossed, as DuckDB's
    date_diff does. Only the parts the models use are implemented; any other part is an error.
-#}

{% macro spark__dateadd(datepart, interval, from_date_or_timestamp) -%}
    {%- set units = {
        'microsecond': 'MICROSECOND', 'millisecond': 'MILLISECOND', 'second': 'SECOND',
        'minute': 'MINUTE', 'hour': 'HOUR', 'day': 'DAY', 'week': 'WEEK', 'month': 'MONTH',
        'quarter': 'QUARTER', 'year': 'YEAR'} -%}
    {%- if datepart | lower not in units -%}
        {{ exceptions.raise_compiler_error("dateadd: unknown datepart '" ~ datepart ~ "'") }}
    {%- endif -%}
    timestampadd(
        {{ units[datepart | lower] }},
        cast({{ interval }} as bigint),
        cast({{ from_date_or_timestamp }} as timestamp)
    )
{%- endmacro %}


{% macro spark__datediff(first_date, second_date, datepart) -%}
    {%- set part = datepart | lower -%}
    {%- set first = 'cast(' ~ first_date ~ ' as timestamp)' -%}
    {%- set second = 'cast(' ~ second_date ~ ' as timestamp)' -%}
    {%- set micros = {'microsecond': 1, 'millisecond': 1000, 'second': 1000000,
                      'minute': 60000000, 'hour': 3600000000} -%}
    {%- if part == 'microsecond' -%}
        (unix_micros({{ second }}) - unix_micros({{ first }}))
    {%- elif part in micros -%}
        (floor(unix_micros({{ second }}) / {{ micros[part] }})
            - floor(unix_micros({{ first }}) / {{ micros[part] }}))
    {%- elif part == 'day' -%}
        datediff(cast({{ second_date }} as date), cast({{ first_date }} as date))
    {%- elif part == 'month' -%}
        ((year({{ second }}) * 12 + month({{ second }})) - (year({{ first }}) * 12 + month({{ first }})))
    {%- elif part == 'quarter' -%}
        ((year({{ second }}) * 4 + quarter({{ second }})) - (year({{ first }}) * 4 + quarter({{ first }})))
    {%- elif part == 'year' -%}
        (year({{ second }}) - year({{ first }}))
    {%- else -%}
        {{ exceptions.raise_compiler_error("datediff on Spark: datepart '" ~ datepart ~ "' is not implemented") }}
    {%- endif -%}
{%- endmacro %}
