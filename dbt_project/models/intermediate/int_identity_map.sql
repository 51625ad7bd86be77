-- Identity stitching: every anonymous_id that was ever seen together with a user_id, mapped to
-- the user it was seen with last. When that user has not consented, the mapping is suppressed
-- (user_id null, is_suppressed true): the anonymous touchpoints of that device then belong to a
-- user who must not appear, so int_touchpoints drops them instead of treating them as anonymous.
--
-- Incremental by anonymous_id: a windowed run maps again the anonymous_ids of
-- int_identity_map_changes (new links, or a mapping that depends on consent), from all their
-- links; the other rows cannot change (DECISIONLOG 86).
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    tags=['daily'],
    pre_hook="{{ incremental_delete('anonymous_id in ' ~ remapped_anonymous_ids()) }}"
) }}
-- depends_on: {{ ref('int_identity_map_changes') }}
with

touchpoints as (
    select * from {{ ref('stg_touchpoints') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

links as (
    select
        anonymous_id,
        user_id,
        occurred_at,
        touchpoint_id
    from touchpoints
    where
        anonymous_id is not null
        and user_id is not null
    {% if incremental_mode() %}
        and anonymous_id in {{ remapped_anonymous_ids() }}
    {% endif %}
),

-- One grouping per device: the last link's user (the largest occurred_at, then touchpoint_id),
-- the number of users and the first and last link. A row_number() window ordered by time and a
-- join back cost four times as much at 50M touchpoints (DECISIONLOG 102).
devices as (
    select
        anonymous_id,
        {{ last_by('user_id', ['occurred_at', 'touchpoint_id']) }} as last_user_id,
        count(distinct user_id) as linked_users,
        min(occurred_at) as first_linked_at,
        max(occurred_at) as last_linked_at
    from links
    group by anonymous_id
),

final as (
    select
        devices.anonymous_id,
        users.user_id,
        users.user_id is null as is_suppressed,
        devices.linked_users,
        devices.first_linked_at,
        devices.last_linked_at
    from devices
    left join users on devices.last_user_id = users.user_id
)

select * from final
