-- Raw touchpoint rows not staged yet that a daily run's window does not read: those that
-- occurred before the run's reprocessing window (the window's start minus the lookback,
-- macros/incremental.sql), and those whose timestamp text the window's text filter passes over
-- (raw_time_may_be_in_window: a timestamp that does not parse, or a year of five digits, written
-- as a date before the window). base_touchpoints stages them besides its window, by position,
-- and int_touchpoint_changes rebuilds their actors, so an event that arrives days or weeks late
-- ends as in a full refresh (docs/incremental.md, "Late data"). A raw row is identified by its
-- position (_source_row_number: parts in path order, so new parts of the arrival-day layout
-- come last).
--
-- Empty on a full build, and on the first build of a new warehouse.
{{ config(tags=['daily']) }}
-- depends_on: {{ source('raw', 'touchpoints') }}
{%- set since = incremental_since() %}
{%- set staged = none %}
{%- if execute and since is not none %}
    {%- set staged = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='base_touchpoints') %}
{%- endif %}

with

{% if staged is not none %}

-- The raw rows' positions alone first: the text of the few rows not staged yet is read after
-- (below), not the key and time of every raw row before the lookup (DECISIONLOG 124).
positions as (
    select raw_positions._source_row_number
    from {{ read_raw('touchpoints') }} as raw_positions
),

-- the previous build's rows (read directly: a ref would be a cycle)
staged as (
    select _source_row_number from {{ staged }}
),

-- Every run stages every raw row it sees, so the staged positions of a raw part are usually one
-- unbroken run. A raw row inside such a run is staged; only the others (new parts, rows appended
-- to a part, a part with a gap) are looked up one by one, with them as the small side: a scan of
-- the positions instead of a hash of every position in history (DECISIONLOG 85).
staged_runs as (
    select
        floor(_source_row_number / {{ raw_part_stride() }}) as part,
        min(_source_row_number) as first_position,
        max(_source_row_number) as last_position
    from staged
    group by floor(_source_row_number / {{ raw_part_stride() }})
    having count(*) = max(_source_row_number) - min(_source_row_number) + 1
),

unseen as (
    select positions._source_row_number
    from positions
    left join staged_runs
        on floor(positions._source_row_number / {{ raw_part_stride() }}) = staged_runs.part
    where not coalesce(
        positions._source_row_number between staged_runs.first_position
        and staged_runs.last_position,
        false
    )
),

not_staged_positions as (
    select unseen._source_row_number
    from unseen
    left join staged on unseen._source_row_number = staged._source_row_number
    where staged._source_row_number is null
),

-- joined, not `in (subquery)`: the column lineage (sqlglot) cannot tell a subquery's columns of
-- a raw file from the outer query's; a position is unique, so the join repeats no row
not_staged as (
    select
        raw_rows.touchpoint_id,
        raw_rows.occurred_at,
        raw_rows._source_row_number
    from {{ read_raw('touchpoints') }} as raw_rows
    inner join not_staged_positions
        on raw_rows._source_row_number = not_staged_positions._source_row_number
),

timed as (
    select
        touchpoint_id,
        _source_row_number,
        occurred_at as occurred_at_text,
        {{ parse_timestamp('occurred_at') }} as occurred_at
    from not_staged
),

-- every row not staged but those base_touchpoints reads with its window: text the filter
-- passes, parsed into the window or not at all
final as (
    select
        _source_row_number,
        touchpoint_id,
        occurred_at
    from timed
    where not (
        {{ raw_time_may_be_in_window('occurred_at_text') }}
        and (occurred_at is null or occurred_at >= {{ since }})
    )
)

{% else %}

    final as (
        select
            cast(null as {{ dbt.type_bigint() }}) as _source_row_number,
            cast(null as {{ dbt.type_string() }}) as touchpoint_id,
            cast(null as {{ dbt.type_timestamp() }}) as occurred_at
        where 1 = 0
    )

{% endif %}

select * from final
