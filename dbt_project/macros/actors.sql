{% macro touchpoint_actors(columns) -%}
    {#- int_touchpoints: the touchpoints the model builds, with their actor (every touchpoint in a
        full build, every touchpoint of a changed actor in an incremental one). `columns` are of
        `resolved` (the staged touchpoint, resolved_user_id, is_stitched, is_suppressed); actor_id
        is always added. The calling model has the CTEs `identity_map` (int_identity_map) and
        `users` (int_users). A full build reads this query twice, once whole and once narrow
        (DECISIONLOG 100), so it is written once here. -#}
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
            select * from {{ ref('stg_touchpoints') }}
            {%- if incremental_mode() %}
                -- every touchpoint that can belong to a changed actor
                where
                    user_id in {{ changed_actors() }}
                    or (
                        user_id is null
                        and (
                            anonymous_id in (
                                select anonymous_id from identity_map
                                where user_id in {{ changed_actors() }}
                            )
                            or {{ dbt.concat(["'anon:'", 'anonymous_id']) }} in {{ changed_actors() }}
                        )
                    )
            {%- endif %}
        ) as touchpoints
        left join identity_map on touchpoints.anonymous_id = identity_map.anonymous_id
    ) as resolved
    left join users on resolved.resolved_user_id = users.user_id
    where
        (
            (resolved.resolved_user_id is null and not resolved.is_suppressed)
            or users.user_id is not null
        )
        {%- if incremental_mode() %}
            -- an incremental run rebuilds the changed actors only (int_touchpoint_changes)
            and coalesce(
                resolved.resolved_user_id,
                {{ dbt.concat(["'anon:'", 'resolved.anonymous_id']) }}
            ) in {{ changed_actors() }}
        {%- endif %}
{%- endmacro %}
