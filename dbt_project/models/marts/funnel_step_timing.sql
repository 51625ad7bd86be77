-- How long each funnel step takes: for every step after the first, the median time from the
-- previous step along the chains of int_funnel_chains that reached it, over every entry day,
-- channel and device. One row per funnel and step from 2 on that a chain reached.
with

-- the gap from the previous step along each chain, stored with the chain (int_funnel_chains:
-- rebuilt by actor in a daily run) rather than a window over every chain here
gaps as (
    select
        funnel_name,
        step_number,
        step_name,
        seconds_from_previous_step as seconds_from_previous
    from {{ ref('int_funnel_chains') }}
),

timed as (
    select
        funnel_name,
        step_number,
        step_name,
        count(seconds_from_previous) as chains,
        {{ median('seconds_from_previous') }} as median_seconds_from_previous
    from gaps
    where step_number > 1
    group by funnel_name, step_number, step_name
),

final as (
    select
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        cast(step_name as {{ dbt.type_string() }}) as step_name,
        cast(chains as {{ dbt.type_bigint() }}) as chains,
        cast(median_seconds_from_previous as double) as median_seconds_from_previous
    from timed
)

select * from final
