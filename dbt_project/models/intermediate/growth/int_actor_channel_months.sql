-- One row per actor, UTC month and channel the actor was reached through in that month (the
-- touchpoint's own channel; '(unknown)' without one), with the time of the first such
-- touchpoint and of the first `conversion_touchpoint` touchpoint among them. The reach half of
-- int_channel_performance, which reads this (about an eighth of the touchpoints' rows at 50M)
-- and applies the data cutoff to the two times, never the touchpoints: an actor is reached in a
-- month up to the cutoff exactly when the first time is at or before it, and converted when the
-- second is.
--
-- Incremental by actor, resumed like int_actor_touchpoint_months: a windowed run deletes and
-- rebuilds the months of each actor listed in int_touchpoint_changes from the month that holds
-- its rebuild_from (a month's row reads that month's touchpoints alone), all of them when
-- rebuild_from is null (DECISIONLOG 146).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('month_start', 'actor_id', 'month') }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}

with

touchpoints as (
    select
        rows_read.actor_id,
        rows_read.occurred_at,
        cast({{ dbt.date_trunc('month', 'rows_read.occurred_at') }} as date) as month_start,
        coalesce(rows_read.channel, '(unknown)') as channel,
        rows_read.touchpoint
    from {{ rebuilt_session_rows(ref('int_touchpoints'), 'rows_read', 'occurred_at', 'month') }}
),

final as (
    select
        actor_id,
        month_start,
        cast(channel as {{ dbt.type_string() }}) as channel,
        min(occurred_at) as first_touchpoint_at,
        min(
            case
                when touchpoint = {{ quote_literal(var('conversion_touchpoint')) }}
                    then occurred_at
            end
        ) as first_conversion_at
    from touchpoints
    group by actor_id, month_start, channel
)

select * from final
