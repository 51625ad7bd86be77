-- Multi-touch attribution by purchase month, model and channel: marts.attribution (one row per
-- purchase x model x channel) summed, so that a dashboard or the journey report reads a few
-- hundred rows instead of one row per purchase, model and touched channel.
with

attribution as (
    select
        cast({{ dbt.date_trunc('month', 'purchased_at') }} as date) as purchase_month,
        model,
        channel,
        touches,
        credited_conversions,
        credited_revenue
    from {{ ref('attribution') }}
),

final as (
    select
        purchase_month,
        model,
        channel,
        cast(count(*) as {{ dbt.type_bigint() }}) as purchases,
        cast(sum(touches) as {{ dbt.type_bigint() }}) as touches,
        -- exact decimals, then a double: a parallel sum of doubles depends on the order it adds
        -- in, and two builds must give the same bits
        cast(sum(cast(credited_conversions as decimal(38, 18))) as double)
            as credited_conversions,
        cast(sum(cast(credited_revenue as decimal(38, 18))) as double) as credited_revenue
    from attribution
    group by purchase_month, model, channel
)

select * from final
