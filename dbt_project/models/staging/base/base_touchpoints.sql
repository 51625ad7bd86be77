-- Every raw touchpoint row, typed and validated. Invalid JSON in properties is not a
-- rejection: the row stays, with null properties and properties_is_valid_json = false.
--
-- Incremental (macros/incremental.sql): a windowed run rebuilds the rows that occurred since
-- the window's start minus the lookback, and the rows without a valid timestamp, and adds the
-- rows not staged yet that are older than the window or that the text filter below passes over
-- (base_touchpoints_late). A touchpoint_id kept before the window makes a reprocessed row with
-- the same id a duplicate.
--
-- A windowed run reads only the raw rows whose timestamp text may be in the window
-- (raw_time_may_be_in_window: the text filter DuckDB evaluates in the Parquet scan, reading the
-- other columns of those rows alone), and the rows of base_touchpoints_late by their position.
-- A stored row is deleted only when that read takes it again: a rejected row whose text the
-- filter passes over (a timestamp that does not parse, or a year of five digits, written before
-- the window) stays as it was, and so does its outcome, since raw rows keep their positions
-- (DECISIONLOG 52, 61, 145).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ incremental_delete(
            '(occurred_at is null or occurred_at >= ' ~ incremental_since() ~ ') and ('
            ~ '_rejection_reason is null or '
            ~ raw_time_may_be_in_window(raw_record_value('_raw_record', 'occurred_at')) ~ ')'
        ) }}",
        "{{ joins_build_as_written() }}",
    ],
    post_hook="{{ joins_build_as_planned() }}"
) }}
-- depends_on: {{ ref('base_touchpoints_late') }}
{%- set since = incremental_since() %}

with

source as (
    select * from {{ read_raw('touchpoints') }} as raw_rows
    {% if incremental_mode() %}
    where {{ raw_time_may_be_in_window('raw_rows.occurred_at') }}
    {% endif %}
),

timed as (
    select
        *,
        {{ parse_timestamp('occurred_at') }} as occurred_at_utc
    from source
),

windowed as (
    select * from timed
    {% if incremental_mode() %}
    where occurred_at_utc is null or occurred_at_utc >= {{ since }}

    union all

    -- the rows not staged yet that the reads above leave out, by position (disjoint from them:
    -- base_touchpoints_late leaves out what they take). A join: DuckDB reads the Parquet row
    -- groups of the few positions alone, and nothing when there is none.
    select
        late_rows.*,
        {{ parse_timestamp('late_rows.occurred_at') }} as occurred_at_utc
    from {{ read_raw('touchpoints') }} as late_rows
    inner join {{ ref('base_touchpoints_late') }} as late
        on late_rows._source_row_number = late._source_row_number
    {% endif %}
),

{% if incremental_mode() %}
-- the keys of this run's rows that a row kept before the window already has: looked up with
-- the run's few keys as the hashed side, never a hash of every key in history (DuckDB's
-- estimate of them is of all history: the hooks keep the sides as written, macros/planner.sql)
window_keys as (
    select distinct touchpoint_id from windowed
    where touchpoint_id is not null
),

-- The first position of each such key among the kept rows, whatever their outcome: the full
-- build numbers every raw row of a key in file order, a rejected one included (a row rejected
-- for its negative dwell still holds its key), so a reprocessed row after a kept row of its key
-- is a duplicate (DECISIONLOG 142).
kept_keys as (
    select
        kept.touchpoint_id,
        min(kept._source_row_number) as first_position
    from {{ this }} as kept
    where kept.touchpoint_id in (select window_keys.touchpoint_id from window_keys)
    group by kept.touchpoint_id
),
{% else %}
    -- A full build numbers only the rows of keys that occur more than once, in file order, reading
    -- the raw data again two columns wide (read twice, not as a CTE: DuckDB would store it): a
    -- row_number() over every row of `windowed` sorted the whole rows (DECISIONLOG 101). Every
    -- other row is its key's first.
    repeated as (
        select counted.touchpoint_id
        from {{ read_raw('touchpoints') }} as counted
        group by counted.touchpoint_id
        having count(*) > 1
    ),

    -- joined, not `in (subquery)`: the column lineage (sqlglot) cannot tell a subquery's
    -- columns of a raw file from the outer query's
    repeated_keys as (
        select
            raw_keys._source_row_number,
            row_number() over (
                partition by raw_keys.touchpoint_id
                order by raw_keys._source_row_number
            ) as key_occurrence
        from {{ read_raw('touchpoints') }} as raw_keys
        inner join repeated on raw_keys.touchpoint_id = repeated.touchpoint_id
    ),
{% endif %}

parsed as (
    select
        windowed.*,
        {{ parse_integer('windowed.dwell_ms') }} as dwell_ms_value,
        {{ is_valid_json('windowed.properties') }} as properties_is_valid_json,
        {% if incremental_mode() -%}
            {{ key_occurrence(['windowed.touchpoint_id']) }}
            + case when kept_keys.first_position < windowed._source_row_number then 1 else 0 end
        {%- else -%}
            coalesce(repeated_keys.key_occurrence, 1)
        {%- endif %} as key_occurrence
    from windowed
    {% if incremental_mode() %}
    -- one row per key, so this join never repeats a row
    left join kept_keys on windowed.touchpoint_id = kept_keys.touchpoint_id
    {% else %}
        -- one row per raw row, so this join never repeats a row
        left join repeated_keys on windowed._source_row_number = repeated_keys._source_row_number
    {% endif %}
),

validated as (
    select
        *,
        case
            when {{ blank_to_null('touchpoint_id') }} is null then 'null key'
            when key_occurrence > 1 then 'duplicate key'
            when occurred_at_utc is null then 'unparseable timestamp'
            when {{ is_in_future('occurred_at_utc') }} then 'future timestamp'
            when dwell_ms is not null and dwell_ms_value is null then 'unparseable number'
            when dwell_ms_value < 0 then 'negative amount'
            when {{ blank_to_null('touchpoint') }} is null then 'missing value'
            when {{ blank_to_null('user_id') }} is null
                and {{ blank_to_null('anonymous_id') }} is null then 'no identity'
        end as rejection_reason
    from parsed
),

final as (
    select
        touchpoint_id,
        {{ blank_to_null('user_id') }} as user_id,
        {{ blank_to_null('anonymous_id') }} as anonymous_id,
        occurred_at_utc as occurred_at,
        touchpoint,
        channel,
        campaign,
        page,
        dwell_ms_value as dwell_ms,
        case when properties_is_valid_json then properties end as properties,
        (properties is null or properties_is_valid_json) as properties_is_valid_json,
        _source_row_number,
        {{ quarantine_columns(
            'rejection_reason',
            ['touchpoint_id'],
            ['touchpoint_id', 'user_id', 'anonymous_id', 'occurred_at', 'touchpoint', 'channel',
             'campaign', 'page', 'dwell_ms', 'properties']
        ) }}
    from validated
)

select * from final
