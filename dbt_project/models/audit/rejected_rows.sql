-- The quarantine: every raw row that failed validation, with the reason and the row as JSON
-- text (PII already hashed). For every source: raw rows = staged rows + rejected rows.
{%- set sources = [
    'users', 'touchpoints', 'orders', 'order_items',
    'marketing_spend', 'nps_responses', 'experiment_assignments'
] %}

with

{% for source_name in sources -%}
    rejected_{{ source_name }} as (
        select
            '{{ source_name }}' as source,
            _record_key as record_key,
            _rejection_reason as reason,
            _raw_record as raw_record,
            _source_row_number as source_row_number
        from {{ ref('base_' ~ source_name) }}
        where _rejection_reason is not null
    ),

{% endfor -%}

unioned as (
    {% for source_name in sources -%}
        select * from rejected_{{ source_name }}
        {% if not loop.last %}union all
        {% endif -%}
    {%- endfor %}
),

final as (
    select
        source,
        record_key,
        reason,
        raw_record,
        source_row_number,
        {{ run_started_at_timestamp() }} as rejected_at
    from unioned
)

select * from final
