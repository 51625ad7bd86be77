-- Net Promoter Score over every month of responses, per acquisition channel and for all
-- channels ('(all)'): nps_monthly's counts summed over months, with the same definitions
-- (nps = 100 x (promoters - detractors) / responses; a theme's mention rate = its mentions /
-- responses) on the sums. The theme columns follow the `nps_themes` var, as in nps_monthly.
{%- set themes = var('nps_themes') %}
with

nps as (
    select * from {{ ref('nps_monthly') }}
),

summed as (
    select
        acquisition_channel,
        {% for theme in themes -%}
            sum({{ theme }}_mentions) as {{ theme }}_mentions,
        {% endfor -%}
        sum(responses) as responses,
        sum(promoters) as promoters,
        sum(passives) as passives,
        sum(detractors) as detractors
    from nps
    group by acquisition_channel
),

final as (
    select
        cast(acquisition_channel as {{ dbt.type_string() }}) as acquisition_channel,
        cast(responses as {{ dbt.type_bigint() }}) as responses,
        cast(promoters as {{ dbt.type_bigint() }}) as promoters,
        cast(passives as {{ dbt.type_bigint() }}) as passives,
        cast(detractors as {{ dbt.type_bigint() }}) as detractors,
        {% for theme in themes -%}
            cast({{ theme }}_mentions as {{ dbt.type_bigint() }}) as {{ theme }}_mentions,
            {{ safe_divide(theme ~ '_mentions', 'responses') }} as {{ theme }}_mention_rate,
        {% endfor -%}
        100 * {{ safe_divide('promoters - detractors', 'responses') }} as nps
    from summed
)

select * from final
