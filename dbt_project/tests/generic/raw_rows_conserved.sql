{#- Conservation of rows through staging: every raw row is either staged or rejected, never
    lost and never counted twice. Counts the raw file independently of the base model. -#}
{% test raw_rows_conserved(model, source_name) %}

with

raw_rows as (
    select count(*) as row_count from {{ read_raw(source_name) }}
),

staged_rows as (
    select count(*) as row_count from {{ model }}
),

rejected_rows as (
    select count(*) as row_count
    from {{ ref('rejected_rows') }}
    where source = {{ quote_literal(source_name) }}
)

select
    raw_rows.row_count as raw_rows,
    staged_rows.row_count as staged_rows,
    rejected_rows.row_count as rejected_rows
from raw_rows
cross join staged_rows
cross join rejected_rows
where raw_rows.row_count != staged_rows.row_count + rejected_rows.row_count

{% endtest %}
