-- Net Promoter Score per UTC month of response and acquisition channel, plus an all-channels row
-- per month ('(all)'), over the responses of consenting users. Promoters score 9-10, passives
-- 7-8, detractors 0-6; nps = 100 x (promoters - detractors) / responses. For each theme of the
-- `nps_themes` var, a response mentions the theme when its comment contains one of the theme's
-- keywords, case-insensitively (lower() on both sides, standard SQL position()).
{%- set themes = var('nps_themes') -%}
{%- if themes is not mapping or themes | length == 0 -%}
    {{ exceptions.raise_compiler_error("nps_themes must map theme names to keyword lists") }}
{%- endif -%}
{%- for theme, keywords in themes.items() -%}
    {%- if not modules.re.match('^[a-z][a-z0-9_]*$', theme | string) -%}
        {{ exceptions.raise_compiler_error(
            "nps_themes: a theme name must be lower-case letters, digits and _, got: " ~ theme) }}
    {%- endif -%}
    {%- if keywords is string or keywords is not iterable or keywords | length == 0 -%}
        {{ exceptions.raise_compiler_error(
            "nps_themes: theme '" ~ theme ~ "' needs a list of one or more keywords") }}
    {%- endif -%}
    {%- for keyword in keywords -%}
        {%- if keyword is none or keyword | string | length == 0 -%}
            {{ exceptions.raise_compiler_error(
                "nps_themes: theme '" ~ theme ~ "' has an empty keyword") }}
        {%- endif -%}
    {%- endfor -%}
{%- endfor %}
with

responses as (
    select * from {{ ref('stg_nps_responses') }}
),

users as (
    select * from {{ ref('int_users') }}
),

consented_responses as (
    select
        responses.response_id,
        cast({{ dbt.date_trunc('month', 'responses.responded_at') }} as date) as month,
        coalesce(users.acquisition_channel, '(unknown)') as acquisition_channel,
        responses.score,
        lower(responses.comment) as comment_lower
    from responses
    inner join users on responses.user_id = users.user_id
),

classified as (
    select
        month,
        acquisition_channel,
        {% for theme, keywords in themes.items() -%}
            case
                when
                    {% for keyword in keywords -%}
                        position(lower({{ quote_literal(keyword) }}) in comment_lower) > 0
                        {% if not loop.last %}or {% endif -%}
                    {% endfor -%}
                    then 1
                else 0
            end as {{ theme }}_mention,
        {% endfor -%}
        case when score >= 9 then 1 else 0 end as is_promoter,
        case when score between 7 and 8 then 1 else 0 end as is_passive,
        case when score <= 6 then 1 else 0 end as is_detractor
    from consented_responses
),

by_channel as (
    select
        month,
        acquisition_channel,
        {% for theme in themes -%}
            sum({{ theme }}_mention) as {{ theme }}_mentions,
        {% endfor -%}
        count(*) as responses,
        sum(is_promoter) as promoters,
        sum(is_passive) as passives,
        sum(is_detractor) as detractors
    from classified
    group by month, acquisition_channel
),

all_channels as (
    select
        month,
        '(all)' as acquisition_channel,
        {% for theme in themes -%}
            sum({{ theme }}_mention) as {{ theme }}_mentions,
        {% endfor -%}
        count(*) as responses,
        sum(is_promoter) as promoters,
        sum(is_passive) as passives,
        sum(is_detractor) as detractors
    from classified
    group by month
),

unioned as (
    select * from by_channel
    union all
    select * from all_channels
),

final as (
    select
        month,
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
    from unioned
)

select * from final
