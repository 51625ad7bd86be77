{% macro activity_retention_definitions() -%}
    {#- The start/return event pairs of marts.activity_retention: the two built in
        (any_touchpoint, funnel_entry), then the `activity_retention_definitions` var. Each a dict
        {name, start, return}; none means any touchpoint. -#}
    {%- set first_step = funnels()[0].steps[0] -%}
    {%- set definitions = [
        {'name': 'any_touchpoint', 'start': none, 'return': none},
        {'name': 'funnel_entry', 'start': first_step, 'return': first_step},
    ] -%}
    {%- set configured = var('activity_retention_definitions') or [] -%}
    {%- if configured is string or configured is mapping -%}
        {{ exceptions.raise_compiler_error(
            "activity_retention_definitions must be a list of {name, start_touchpoint, return_touchpoint}") }}
    {%- endif -%}
    {%- for item in configured -%}
        {%- if item is not mapping or item.name is not defined -%}
            {{ exceptions.raise_compiler_error(
                "each activity retention definition needs a name: " ~ item) }}
        {%- endif -%}
        {%- do definitions.append({
            'name': item.name | string,
            'start': item.get('start_touchpoint'),
            'return': item.get('return_touchpoint'),
        }) -%}
    {%- endfor -%}
    {%- set names = definitions | map(attribute='name') | list -%}
    {%- if names | unique | list | length != names | length -%}
        {{ exceptions.raise_compiler_error(
            "activity retention definition names must be unique: " ~ names) }}
    {%- endif -%}
    {{- return(definitions) -}}
{%- endmacro %}


{% macro activity_retention_touchpoints() -%}
    {#- The touchpoint names some activity retention definition starts or returns with. -#}
    {%- set names = [] -%}
    {%- for definition in activity_retention_definitions() -%}
        {%- for name in [definition.start, definition.return] -%}
            {%- if name is not none and name not in names -%}{%- do names.append(name) -%}{%- endif -%}
        {%- endfor -%}
    {%- endfor -%}
    {{- return(names) -}}
{%- endmacro %}


{% macro activity_retention_roles(definition) -%}
    {#- The event roles a definition reads: ['start', 'return'], or ['start'] alone when it
        returns with the event it starts with (the returns are then its starts). -#}
    {{- return(['start'] if definition['return'] == definition['start'] else ['start', 'return']) -}}
{%- endmacro %}


{% macro activity_retention_settings() -%}
    {#- marts.activity_retention's configuration as text (int_mart_builds.settings): a build
        with other definitions rebuilds every row (DECISIONLOG 147). -#}
    {{- return(tojson(activity_retention_definitions())) -}}
{%- endmacro %}


{% macro activity_retention_floor() -%}
    {#- The first day whose periods marts.activity_retention rebuilds, or none: every row
        (checked_mart_floor()). Its check: the recurring day cohorts of the first definition
        (any touchpoint) at period 0 count each actor-day once (the floor's own day bounds them,
        so they cover the weeks kept too). -#}
    {{- return(checked_mart_floor(activity_retention_settings(), [{
        'period_type': 'day',
        'kept': 'retained_actors',
        'period_column': 'cohort_period',
        'rows': 'definition = ' ~ quote_literal(activity_retention_definitions()[0].name)
            ~ " and cohort_type = 'recurring' and period_type = 'day'"
            ~ ' and periods_since_start = 0',
    }])) -}}
{%- endmacro %}


{% macro delete_activity_retention_periods() -%}
    {#- Pre-hook of marts.activity_retention: its rows from the period that holds
        activity_retention_floor() on (a row's period is cohort_period + periods_since_start
        days or weeks), or every row. -#}
    {{ delete_mart_periods(activity_retention_floor(), {
        'day': dbt.dateadd('day', 'periods_since_start', 'cohort_period'),
        'week': dbt.dateadd('day', '7 * periods_since_start', 'cohort_period'),
    }) }}
{%- endmacro %}


{% macro stickiness_settings() -%}
    {#- marts.stickiness has no settings of its own (int_mart_builds.settings). -#}
    {{- return(tojson({})) -}}
{%- endmacro %}


{% macro stickiness_floor() -%}
    {#- The first day whose periods marts.stickiness rebuilds, or none: every row
        (checked_mart_floor()). Its check: the weeks before the floor's week and the months before
        its month are complete, and their rows count each actor-day once (days_active x actors):
        both, since a month kept can end after the floor's week starts. -#}
    {%- set checks = [] -%}
    {%- for period_type in ['week', 'month'] -%}
        {%- do checks.append({
            'period_type': period_type,
            'kept': 'days_active * actors',
            'period_column': 'period_start',
            'rows': 'period_type = ' ~ quote_literal(period_type),
        }) -%}
    {%- endfor -%}
    {{- return(checked_mart_floor(stickiness_settings(), checks)) -}}
{%- endmacro %}


{% macro delete_stickiness_periods() -%}
    {#- Pre-hook of marts.stickiness: its periods from the one that holds stickiness_floor() on,
        or every row. -#}
    {{ delete_mart_periods(stickiness_floor(), {
        'week': 'period_start',
        'month': 'period_start',
    }) }}
{%- endmacro %}


{% macro user_lifecycle_settings() -%}
    {#- marts.user_lifecycle has no settings of its own (int_mart_builds.settings). -#}
    {{- return(tojson({})) -}}
{%- endmacro %}


{% macro user_lifecycle_floor() -%}
    {#- The first day whose periods marts.user_lifecycle rebuilds, or none: every row
        (checked_mart_floor()). Its check, per period type: the 'new' actors of the periods
        before the floor's are the actors active before it, each counted once; an actor whose
        days are erased and who was active before that period makes it one fewer (an actor
        first active from it on is in no row kept). -#}
    {%- set checks = [] -%}
    {%- for period_type in ['week', 'month'] -%}
        {%- do checks.append({
            'period_type': period_type,
            'kept': 'actors',
            'period_column': 'period_start',
            'rows': 'period_type = ' ~ quote_literal(period_type) ~ " and status = 'new'",
            'facts': 'count(distinct actor_id)',
        }) -%}
    {%- endfor -%}
    {%- set floor = checked_mart_floor(user_lifecycle_settings(), checks) -%}
    {%- if floor is none -%}
        {{- return(none) -}}
    {%- endif -%}
    {#- The rows kept end with the period before the floor's: they are whole when the last build
        had it in its grid, and still right when the last period with activity is not before
        it (the grid ends there). A warehouse whose activity stopped earlier rebuilds. -#}
    {%- set previous = {} -%}
    {%- for period_type in ['week', 'month'] -%}
        {%- do previous.update({period_type:
            'cast(' ~ dbt.dateadd(period_type, -1, period_floor(period_type, floor)) ~ ' as date)'}) -%}
    {%- endfor -%}
    {%- set query -%}
        with

        last_active as (
            select max(days.activity_date) as last_day
            from {{ ref('int_actor_days') }} as days
            cross join {{ ref('int_data_cutoff') }} as cutoff
            where days.first_touchpoint_at <= cutoff.data_cutoff_at
        )

        select
            coalesce(
                last_active.last_day >= {{ previous['week'] }}
                and last_active.last_day >= {{ previous['month'] }}
                {%- for period_type in ['week', 'month'] %}
                and exists (
                    select 1 from {{ this }}
                    where
                        period_type = {{ quote_literal(period_type) }}
                        and period_start = {{ previous[period_type] }}
                )
                {%- endfor %},
                false
            ) as whole
        from last_active
    {%- endset -%}
    {%- if not run_query(query).rows[0]['whole'] -%}
        {%- do log(this.identifier ~ ': the activity ends before the period before the floor,'
            ~ ' or the last build did not reach it: rebuilding every row', info=True) -%}
        {{- return(none) -}}
    {%- endif -%}
    {{- return(floor) -}}
{%- endmacro %}


{% macro delete_user_lifecycle_periods() -%}
    {#- Pre-hook of marts.user_lifecycle: its periods from the one that holds
        user_lifecycle_floor() on, or every row. -#}
    {{ delete_mart_periods(user_lifecycle_floor(), {
        'week': 'period_start',
        'month': 'period_start',
    }) }}
{%- endmacro %}
