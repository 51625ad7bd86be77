-- Raw touchpoint rows that arrived late: they occurred before this run's reprocessing window
-- (the window's start minus the lookback, macros/incremental.sql) and are not yet staged. A
-- windowed run of base_touchpoints takes them besides the window, and int_touchpoint_changes
-- rebuilds their actors, so an event that arrives days or weeks late ends as in a full refresh
-- (docs/incremental.md, "Late data"). A raw row is identified by its position
-- (_source_row_number: parts in path order, so new parts of the arrival-day layout come last).
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

source as (
    select
        touchpoint_id,
        occurred_at,
        _source_row_number
    from {{ read_raw('touchpoints') }}
),

-- the previous build's rows (read directly: a ref would be a cycle)
staged as (
    select _source_row_number from {{ staged }}
),

not_staged as (
    select source.*
    from source
    left join staged on source._source_row_number = staged._source_row_number
    where staged._source_row_number is null
),

timed as (
    select
        touchpoint_id,
        _source_row_number,
        {{ parse_timestamp('occurred_at') }} as occurred_at
    from not_staged
),

final as (
    select
        _source_row_number,
        touchpoint_id,
        occurred_at
    from timed
    where occurred_at < {{ since }}
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
