{% macro touchpoint_actors(columns) -%}
    {#- int_touchpoints: the touchpoints the model builds, with their actor (every touchpoint in a
        full build, every touchpoint of a changed actor from its rebuild_from in an incremental
        one). `columns` are of `resolved` (the staged touchpoint, resolved_user_id, is_stitched,
        is_suppressed); actor_id is always added. The calling model has the CTEs `identity_map`
        (int_identity_map) and `users` (int_users). A full build reads this query twice, once
        whole and once narrow (DECISIONLOG 100), so it is written once here.

        An incremental run reads the staged touchpoints in two parts (DECISIONLOG 138): those
        since the earliest rebuild_from of the run, a time literal, so the scan skips the older
        row groups by their minimum and maximum; and, older than that, those of the actors it
        rebuilds from all their history. -#}
    {%- set resumed_from = none %}
    {%- set rebuilds_history = true %}
    {%- if incremental_mode() and execute %}
        {%- set bounds = run_query(
            'select min(rebuild_from), count(case when rebuild_from is null then 1 end) from '
            ~ ref('int_touchpoint_changes')) %}
        {%- set resumed_from = bounds.columns[0].values()[0] %}
        {%- set rebuilds_history = bounds.columns[1].values()[0] > 0 %}
    {%- endif %}
    select
        {{ columns }},
        coalesce(
            resolved.resolved_user_id,
            {{ dbt.concat(["'anon:'", 'resolved.anonymous_id']) }}
        ) as actor_id
    from (
        select
            touchpoints.*,
            coalesce(touchpoints.user_id, identity_map.user_id) as resolved_user_id,
            touchpoints.user_id is null and identity_map.user_id is not null as is_stitched,
            coalesce(identity_map.is_suppressed, false) as is_suppressed
        from (
            {%- if not incremental_mode() %}
                select * from {{ ref('stg_touchpoints') }}
            {%- else %}
                {%- set since_resumed = 'cast(' ~ quote_literal(resumed_from | string)
                    ~ ' as ' ~ dbt.type_timestamp() ~ ')' if resumed_from is not none else none %}
                {%- if since_resumed is not none %}
                    -- every changed actor's touchpoints since the earliest rebuild_from
                    select * from {{ ref('stg_touchpoints') }}
                    where
                        occurred_at >= {{ since_resumed }}
                        and {{ changed_actor_candidate(changed_actors()) }}
                {%- endif %}
                {%- if since_resumed is not none and rebuilds_history %}
                    union all
                {%- endif %}
                {%- if rebuilds_history %}
                    -- the touchpoints of the actors rebuilt from all history, before that
                    select * from {{ ref('stg_touchpoints') }}
                    where
                        {{ changed_actor_candidate(
                            '(select changes.actor_id from ' ~ ref('int_touchpoint_changes')
                            ~ ' as changes where changes.rebuild_from is null)') }}
                        {%- if since_resumed is not none %}
                            and (occurred_at is null or occurred_at < {{ since_resumed }})
                        {%- endif %}
                {%- endif %}
                {%- if since_resumed is none and not rebuilds_history %}
                    -- nothing changed
                    select * from {{ ref('stg_touchpoints') }} where 1 = 0
                {%- endif %}
            {%- endif %}
        ) as touchpoints
        left join identity_map on touchpoints.anonymous_id = identity_map.anonymous_id
    ) as resolved
    left join users on resolved.resolved_user_id = users.user_id
    {%- if incremental_mode() %}
        -- an incremental run rebuilds the changed actors only, each from its rebuild_from
        -- (int_touchpoint_changes: one row per actor, so no row is repeated)
        inner join {{ ref('int_touchpoint_changes') }} as changes
            on changes.actor_id = coalesce(
                resolved.resolved_user_id,
                {{ dbt.concat(["'anon:'", 'resolved.anonymous_id']) }}
            )
    {%- endif %}
    where
        (
            (resolved.resolved_user_id is null and not resolved.is_suppressed)
            or users.user_id is not null
        )
        {%- if incremental_mode() %}
            and (changes.rebuild_from is null or resolved.occurred_at >= changes.rebuild_from)
        {%- endif %}
{%- endmacro %}


{% macro changed_actor_candidate(actors) -%}
    {#- True for a staged touchpoint that can belong to one of `actors` (a subquery of actor
        ids): its user's, or an anonymous touchpoint of a device mapped to one of them or of the
        device itself. touchpoint_actors keeps those that do. -#}
    (
        user_id in {{ actors }}
        or (
            user_id is null
            and (
                anonymous_id in (
                    select anonymous_id from identity_map
                    where user_id in {{ actors }}
                )
                or {{ dbt.concat(["'anon:'", 'anonymous_id']) }} in {{ actors }}
            )
        )
    )
{%- endmacro %}
