-- The configured funnels (var `funnels` in dbt_project.yml), one row per funnel step.
-- Ephemeral: it reads configuration, not data, so as a table it would be built before the raw
-- files are checked; inlined into its consumers it runs only after them.
{{ config(materialized='ephemeral') }}
with

steps as (
    {% for funnel in funnels() -%}
        {% set funnel_loop = loop -%}
        {% for step in funnel.steps -%}
            select
                {{ quote_literal(funnel.name) }} as funnel_name,
                {{ loop.index }} as step_number,
                {{ quote_literal(step) }} as step_name,
                {{ funnel.steps | length }} as step_count,
                {{ funnel_window_seconds(funnel) }} as window_seconds
            {% if not (loop.last and funnel_loop.last) %}union all
            {% endif -%}
        {% endfor -%}
    {% endfor %}
),

final as (
    select
        cast(funnel_name as {{ dbt.type_string() }}) as funnel_name,
        cast(step_number as {{ dbt.type_int() }}) as step_number,
        cast(step_name as {{ dbt.type_string() }}) as step_name,
        cast(step_count as {{ dbt.type_int() }}) as step_count,
        cast(window_seconds as {{ dbt.type_bigint() }}) as window_seconds
    from steps
)

select * from final
