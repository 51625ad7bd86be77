-- nps_overall sums nps_monthly over months: every channel's row (the '(all)' row included)
-- holds the sums of its monthly rows, and its nps follows from them.
{%- set themes = var('nps_themes') %}
with

monthly as (
    select * from {{ ref('nps_monthly') }}
),

overall as (
    select * from {{ ref('nps_overall') }}
),

summed as (
    select
        acquisition_channel,
        {% for theme in themes -%}
            sum({{ theme }}_mentions) as {{ theme }}_mentions,
        {% endfor -%}
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(detractors) as detractors
    from monthly
    group by acquisition_channel
)

select
    coalesce(summed.acquisition_channel, overall.acquisition_channel) as acquisition_channel,
    'overall != sum of months' as failure
from summed
full outer join overall on summed.acquisition_channel = overall.acquisition_channel
where
    summed.acquisition_channel is null
    or overall.acquisition_channel is null
    or summed.responses != overall.responses
    or summed.promoters != overall.promoters
    or summed.detractors != overall.detractors
    {%- for theme in themes %}
        or summed.{{ theme }}_mentions != overall.{{ theme }}_mentions
    {%- endfor %}
    or abs(
        overall.nps
        - 100.0 * (summed.promoters - summed.detractors) / summed.responses
    ) > 1e-9
