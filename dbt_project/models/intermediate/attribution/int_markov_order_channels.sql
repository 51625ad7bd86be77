-- The distinct channels of each converting journey (a purchase with at least one channel
-- touch): the Markov attribution splits the purchase's one conversion over them in proportion
-- to their removal effects.
with

paths as (
    select
        order_id,
        channel
    from {{ ref('int_attribution_paths') }}
    where is_converted
),

final as (
    select distinct
        order_id,
        channel
    from paths
)

select * from final
