-- The day spine the dbt semantic layer (MetricFlow) joins time dimensions to: one row per UTC
-- day from 2015 through 2035, a fixed range so the same project always builds the same table.
-- It reads no data, but it is built after the data cutoff like every model, so a raw file that
-- breaks the contract stops it too ("no model was built").
-- depends_on: {{ ref('int_data_cutoff') }}
with

days as (
    {{ dbt.date_spine(
        datepart='day',
        start_date="cast('2015-01-01' as date)",
        end_date="cast('2036-01-01' as date)"
    ) }}
),

final as (
    select cast(date_day as date) as date_day
    from days
)

select * from final
