{#- The funnel chains of int_funnel_chains: engine-specific, so they live here, behind
    adapter.dispatch. -#}

{% macro funnel_chains(prefix, steps, window_seconds) -%}
    {#- CTEs that end in `<prefix>_chain_<n>` (n = the number of steps): one row per step-1
        touchpoint of `<prefix>_events` (actor_id, occurred_at, touchpoint: the funnel's
        touchpoints), with actor_id and step_1_at .. step_<n>_at, where step_i_at is the earliest
        step-i touchpoint strictly after step_(i-1)_at, null once a step is missing or later than
        step_1_at + window_seconds (the boundary counts). The same start may appear more than
        once (the DuckDB version keeps duplicate step-1 touchpoints): such rows are equal. -#}
    {{- return(adapter.dispatch('funnel_chains', 'touchpoint_alchemy')(prefix, steps, window_seconds)) -}}
{%- endmacro %}


{% macro default__funnel_chains(prefix, steps, window_seconds) -%}
    {#- Portable: one left join per step that keeps the minimum next timestamp within the window
        (a join that multiplies rows by the actor's step-i touchpoints, then a group by). -#}
    {{ prefix }}_chain_1 as (
        select distinct
            actor_id,
            occurred_at as step_1_at
        from {{ prefix }}_events
        where touchpoint = {{ quote_literal(steps[0]) }}
    ),

    {% for step in steps[1:] -%}
        {%- set i = loop.index + 1 %}
        {{ prefix }}_chain_{{ i }} as (
            select
                chain.actor_id,
                {% for j in range(1, i) -%}
                    chain.step_{{ j }}_at,
                {% endfor -%}
                min(next_event.occurred_at) as step_{{ i }}_at
            from {{ prefix }}_chain_{{ i - 1 }} as chain
            left join {{ prefix }}_events as next_event
                on
                    chain.actor_id = next_event.actor_id
                    and next_event.touchpoint = {{ quote_literal(step) }}
                    and chain.step_{{ i - 1 }}_at < next_event.occurred_at
                    and {{ dbt.dateadd('second', window_seconds, 'chain.step_1_at') }}
                    >= next_event.occurred_at
            group by
                {% for j in range(1, i) -%}
                    chain.step_{{ j }}_at,
                {% endfor -%}
                chain.actor_id
        ){{ "," if not loop.last }}
    {% endfor -%}
{%- endmacro %}


{% macro duckdb__funnel_chains(prefix, steps, window_seconds) -%}
    {#- DuckDB: ASOF joins, from the last step back, without the window. The earliest step-k
        touchpoint after a time depends on the actor and that time only, so `<prefix>_tail_k`
        holds, for every step-k touchpoint, the chain that follows it (the earliest step-(k+1)
        touchpoint strictly after it, then the earliest step-(k+2) after that, ...): one ASOF
        join of the step-k touchpoints with `<prefix>_tail_(k+1)`, which finds the next
        step-(k+1) row and carries its chain along. No join multiplies rows and nothing is
        grouped. The window applies last: a step later than step_1_at + window is null, and
        so is every step after it, since the times increase along a chain. -#}
    {%- set n = steps | length %}
    {{ prefix }}_tail_{{ n }} as (
        select
            actor_id,
            occurred_at as step_{{ n }}_at
        from {{ prefix }}_events
        where touchpoint = {{ quote_literal(steps[n - 1]) }}
    ),

    {% for k in range(n - 1, 0, -1) -%}
        {{ prefix }}_tail_{{ k }} as (
            select
                event.actor_id,
                event.occurred_at as step_{{ k }}_at,
                {% for j in range(k + 1, n + 1) -%}
                    tail.step_{{ j }}_at{{ "," if not loop.last }}
                {% endfor %}
            from {{ prefix }}_events as event
            asof left join {{ prefix }}_tail_{{ k + 1 }} as tail
                on
                    event.actor_id = tail.actor_id
                    and event.occurred_at < tail.step_{{ k + 1 }}_at
            where event.touchpoint = {{ quote_literal(steps[k - 1]) }}
        ),

    {% endfor -%}

    {{ prefix }}_chain_{{ n }} as (
        select
            actor_id,
            step_1_at,
            {% for j in range(2, n + 1) -%}
                case
                    when step_{{ j }}_at <= {{ dbt.dateadd('second', window_seconds, 'step_1_at') }}
                        then step_{{ j }}_at
                end as step_{{ j }}_at{{ "," if not loop.last }}
            {% endfor %}
        from {{ prefix }}_tail_1
    )
{%- endmacro %}


{% macro funnel_best_chains(prefix, steps) -%}
    {#- The CTE `<prefix>_best`: of `<prefix>_levels` (a row per chain: actor_id, entry_date,
        level, step_1_at .. step_<n>_at), one row per actor_id and entry_date, the chain with
        the highest level, the earliest start on ties (equal rows are the same chain). -#}
    {{- return(adapter.dispatch('funnel_best_chains', 'touchpoint_alchemy')(prefix, steps)) -}}
{%- endmacro %}


{% macro default__funnel_best_chains(prefix, steps) -%}
    {{ prefix }}_ranked as (
        select
            *,
            row_number() over (
                partition by actor_id, entry_date
                order by level desc, step_1_at asc
            ) as chain_rank
        from {{ prefix }}_levels
    ),

    {{ prefix }}_best as (
        select * from {{ prefix }}_ranked
        where chain_rank = 1
    )
{%- endmacro %}


{% macro duckdb__funnel_best_chains(prefix, steps) -%}
    {#- DuckDB: one hash aggregate instead of a sort. The order (level desc, step_1_at asc) is
        packed into one BIGINT, (n - level) in the bits from 56 up and the start's epoch
        microseconds below (exact for |epoch| < 2^55 microseconds, about 1,100 years from 1970,
        and n <= 100 steps); every column takes its value at the smallest key (arg_min_null,
        which keeps nulls: the steps past the level). -#}
    {%- set n = steps | length -%}
    {%- if n > 100 -%}
        {{ exceptions.raise_compiler_error("a funnel has at most 100 steps, got " ~ n) }}
    {%- endif %}
    {{ prefix }}_keyed as (
        select
            *,
            (cast({{ n }} - level as bigint) << 56) + epoch_us(step_1_at) as chain_key
        from {{ prefix }}_levels
    ),

    {{ prefix }}_best as (
        select
            actor_id,
            entry_date,
            arg_min_null(level, chain_key) as level,
            {% for j in range(1, n + 1) -%}
                arg_min_null(step_{{ j }}_at, chain_key) as step_{{ j }}_at{{ "," if not loop.last }}
            {% endfor %}
        from {{ prefix }}_keyed
        group by actor_id, entry_date
    )
{%- endmacro %}
