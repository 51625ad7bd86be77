-- Every model credits the same channels of a purchase with the same touch counts: the models
-- differ only in how they share the credit. Reads the attribution mart only.
with

attribution as (
    select * from {{ ref('attribution') }}
),

per_channel as (
    select
        order_id,
        channel,
        count(*) as models,
        min(touches) as min_touches,
        max(touches) as max_touches
    from attribution
    group by order_id, channel
)

select *
from per_channel
where models != 6 or min_touches != max_touches
