-- The actors an incremental run rebuilds: one row per actor_id (see macros/incremental.sql).
--
-- Sessions, funnel chains and attribution touches depend on all of an actor's touchpoints, so a
-- windowed run rebuilds every actor it touches, from all their events:
--   - the actors of the reprocessed touchpoints (occurred since the window start - lookback, or
--     arrived late: staging.base_touchpoints_late);
--   - the previous and the current actor of every anonymous_id seen in the window: a new login
--     can move that device's earlier anonymous touchpoints to another actor.
-- Users who withdrew consent are not listed here (no table may keep their id): the daily models
-- delete their rows by comparing with int_users (macros/incremental.sql, consented()).
-- A full build has no changes: every table is rebuilt from all history.
{{ config(tags=['daily']) }}
-- depends_on: {{ ref('stg_touchpoints') }}, {{ ref('int_identity_map') }}, {{ ref('int_users') }}
-- depends_on: {{ ref('base_touchpoints_late') }}
{%- set since = incremental_since() %}
{%- set previous = none %}
{%- if execute and since is not none %}
    {%- set previous = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_touchpoints') %}
{%- endif %}

with

{% if since is not none and previous is not none %}

touchpoints as (
    select * from {{ ref('stg_touchpoints') }}
),

identity_map as (
    select * from {{ ref('int_identity_map') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

-- the previous build's int_touchpoints (read directly: a ref would be a cycle)
previous_touchpoints as (
    select
        actor_id,
        user_id,
        anonymous_id
    from {{ previous }}
),

late as (
    select touchpoint_id from {{ ref('base_touchpoints_late') }}
),

reprocessed as (
    select
        user_id,
        anonymous_id
    from touchpoints
    where
        occurred_at >= {{ since }}
        or touchpoint_id in (select late.touchpoint_id from late)
),

seen_anonymous_ids as (
    select distinct anonymous_id
    from reprocessed
    where anonymous_id is not null
),

current_actors as (
    select
        coalesce(
            reprocessed.user_id,
            identity_map.user_id,
            {{ dbt.concat(["'anon:'", 'reprocessed.anonymous_id']) }}
        ) as actor_id
    from reprocessed
    left join identity_map on reprocessed.anonymous_id = identity_map.anonymous_id
),

previous_actors as (
    select previous_touchpoints.actor_id
    from previous_touchpoints
    inner join seen_anonymous_ids
        on previous_touchpoints.anonymous_id = seen_anonymous_ids.anonymous_id
),

unioned as (
    select actor_id from current_actors
    union
    select actor_id from previous_actors
),

-- only consenting users and anonymous devices: a withdrawn user's id is never stored here
final as (
    select distinct cast(unioned.actor_id as {{ dbt.type_string() }}) as actor_id
    from unioned
    left join users on unioned.actor_id = users.user_id
    where unioned.actor_id like 'anon:%' or users.user_id is not null
)

{% else %}

    final as (
        select cast(null as {{ dbt.type_string() }}) as actor_id
        where 1 = 0
    )

{% endif %}

select * from final
