-- Funnel chains: one row per funnel x actor x entry day x step reached. The actor is the stitched
-- identity of int_touchpoints: a user (touchpoints before login included) or an anonymous device.
--
-- For each actor and each UTC day d with a step-1 touchpoint, the level is the length of the
-- longest chain e1, e2, ... ek where e1 is a step-1 touchpoint on day d, each e_i is a step-i
-- touchpoint strictly later than e_(i-1), and t(e_k) <= t(e1) + window (the boundary counts).
-- This is ClickHouse's windowFunnel(window, 'strict_increase') restricted to chains that start
-- on day d.
--
-- For a fixed e1, taking the earliest qualifying touchpoint at every step is optimal: an
-- earlier e_i leaves every later step more room. The chain from each e1 comes from
-- funnel_chains() (macros/funnels.sql, behind adapter.dispatch): on DuckDB, ASOF joins from the
-- last step back (each touchpoint's earliest next step carries the chain after it), the window
-- applied last; elsewhere, one join per step that keeps the minimum next timestamp within the
-- window. Of a day's starts, the chain with the highest level wins, the earliest start on ties
-- (funnel_best_chains(): on DuckDB one hash aggregate, elsewhere row_number); its timestamps
-- give the time from entry to each step.
--
-- Incremental by actor, resumed like int_touchpoints: a windowed run deletes and rebuilds the
-- entry days of each actor listed in int_touchpoint_changes from the day that holds its
-- rebuild_from minus the longest funnel window (a chain reaches that far from its entry), all
-- of them when rebuild_from is null (DECISIONLOG 146).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook=[
        "{{ delete_rebuilt_rows('entry_date', 'actor_id', 'day', longest_funnel_window_seconds()) }}",
        "{{ incremental_delete(withdrawn('actor_id')) }}",
    ]
) }}
-- depends_on: {{ ref('int_touchpoint_changes') }}, {{ ref('int_users') }}, {{ ref('int_held_users') }}
with

touchpoints as (
    select
        rows_read.actor_id,
        rows_read.occurred_at,
        rows_read.touchpoint
    from {{ rebuilt_session_rows(
        ref('int_touchpoints'), 'rows_read', 'occurred_at', 'day', longest_funnel_window_seconds()
    ) }}
),

{% for funnel in funnels() -%}
    {%- set f = 'funnel_' ~ loop.index -%}
    {%- set window_seconds = funnel_window_seconds(funnel) -%}
    {%- set steps = funnel.steps -%}

    {{ f }}_events as (
        select
            actor_id,
            occurred_at,
            touchpoint
        from touchpoints
        where touchpoint in (
                {%- for step in steps %}{{ quote_literal(step) }}{{ ", " if not loop.last }}{% endfor -%}
            )
    ),

    {{ funnel_chains(f, steps, window_seconds) }},

    {{ f }}_levels as (
        select
            *,
            cast(step_1_at as date) as entry_date,
            1
            {%- for j in range(2, steps | length + 1) %}
                + case when step_{{ j }}_at is not null then 1 else 0 end
            {%- endfor %} as level
        from {{ f }}_chain_{{ steps | length }}
    ),

    {{ funnel_best_chains(f, steps) }},

    {{ f }}_steps as (
        {% for step in steps -%}
            select
                {{ quote_literal(funnel.name) }} as funnel_name,
                actor_id,
                entry_date,
                step_1_at as entry_at,
                level,
                {{ loop.index }} as step_number,
                {{ quote_literal(step) }} as step_name,
                step_{{ loop.index }}_at as step_at,
                {% if loop.first -%}
                    cast(null as {{ dbt.type_timestamp() }})
                {%- else -%}
                    step_{{ loop.index - 1 }}_at
                {%- endif %} as previous_step_at
            from {{ f }}_best
            where level >= {{ loop.index }}
            {% if not loop.last %}union all
            {% endif -%}
        {% endfor %}
    ),

{% endfor -%}

unioned as (
    {% for funnel in funnels() -%}
        select * from funnel_{{ loop.index }}_steps
        {% if not loop.last %}union all
    {% endif -%}
    {% endfor %}
),

final as (
    select
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        actor_id,
        entry_date,
        entry_at,
        cast(level as {{ dbt.type_int() }}) as level,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        cast(step_name as {{ dbt.type_string() }}) as step_name,
        step_at,
        cast({{ dbt.datediff('entry_at', 'step_at', 'microsecond') }} as double)
        / 1000000.0 as seconds_from_entry,
        -- the difference of the two steps' seconds from entry, as funnel_step_timing took it
        -- with a window over the chains before (DECISIONLOG 111): the same doubles
        cast({{ dbt.datediff('entry_at', 'step_at', 'microsecond') }} as double) / 1000000.0
        - cast({{ dbt.datediff('entry_at', 'previous_step_at', 'microsecond') }} as double)
        / 1000000.0 as seconds_from_previous_step
    from unioned
)

select * from final
