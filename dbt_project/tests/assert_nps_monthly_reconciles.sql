-- nps_monthly invariants: the score bands add up to the responses, no theme has more mentions
-- than responses, each month's '(all)' row is the sum of its channel rows, and the '(all)' rows
-- count every response of a consenting user once.
{%- set themes = var('nps_themes') %}
with

nps as (
    select * from {{ ref('nps_monthly') }}
),

responses as (
    select * from {{ ref('stg_nps_responses') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

consented as (
    select count(*) as responses
    from responses
    inner join users on responses.user_id = users.user_id
),

channel_sums as (
    select
        month,
        {% for theme in themes -%}
            sum({{ theme }}_mentions) as {{ theme }}_mentions,
        {% endfor -%}
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(passives) as passives,
        sum(detractors) as detractors
    from nps
    where acquisition_channel != '(all)'
    group by month
),

all_rows as (
    select * from nps
    where acquisition_channel = '(all)'
)

select
    'bands or mentions' as failure,
    month,
    acquisition_channel
from nps
where
    promoters + passives + detractors != responses
    {%- for theme in themes %}
        or {{ theme }}_mentions > responses
    {%- endfor %}

union all

select
    '(all) != sum of channels' as failure,
    coalesce(all_rows.month, channel_sums.month) as month,
    '(all)' as acquisition_channel
from all_rows
full outer join channel_sums on all_rows.month = channel_sums.month
where
    all_rows.month is null
    or channel_sums.month is null
    or all_rows.responses != channel_sums.responses
    or all_rows.promoters != channel_sums.promoters
    or all_rows.passives != channel_sums.passives
    or all_rows.detractors != channel_sums.detractors
    {%- for theme in themes %}
        or all_rows.{{ theme }}_mentions != channel_sums.{{ theme }}_mentions
    {%- endfor %}

union all

select
    '(all) != consenting responses' as failure,
    null as month,
    '(all)' as acquisition_channel
from consented
where consented.responses != (select coalesce(sum(all_rows.responses), 0) from all_rows)
