-- The users whose rows the daily tables may hold: every user int_users has listed since the last
-- daily run that completed. A user who withdraws consent (or leaves the raw users) is here and no
-- longer in int_users until that run's end, and the daily models' deletes look them up here
-- (`withdrawn()`, macros/incremental.sql), a few ids, rather than probing every row of every
-- daily table against int_users (DECISIONLOG 144). After a daily run whose daily models all
-- succeeded, it is int_users' ids again (`prune_held_users()`, on-run-end): no table keeps a
-- list of withdrawn users.
--
-- Kept up to date by int_users itself, whose post-hook adds its new ids whatever dbt selects,
-- so a daily table never holds a user who is not here. This model only creates the table
-- (full_refresh=false: a full refresh keeps it, since the tables it covers may keep their rows
-- if that refresh fails). Its first build on a warehouse built before it existed starts from the
-- previous build's int_users, whose users are those the daily tables can hold.
{{ config(
    materialized=daily_materialization(),
    incremental_strategy='append',
    full_refresh=false,
    tags=['daily'],
) }}
-- after the users' staging, like every model after the raw-file check (its rows come from the
-- users; int_users cannot be a ref here)
-- depends_on: {{ ref('stg_users') }}
{%- set previous_users = none %}
{%- if execute and not is_incremental() %}
    {%- set previous_users = adapter.get_relation(
        database=this.database, schema=this.schema, identifier='int_users') %}
{%- endif %}

with

{% if previous_users is not none %}
    -- read directly: a ref would be a cycle (int_users' post-hook writes here)
    held as (
        select user_id from {{ previous_users }}
    ),
{% else %}
    held as (
        select cast(null as {{ dbt.type_string() }}) as user_id
        where 1 = 0
    ),
{% endif %}

final as (
    select cast(user_id as {{ dbt.type_string() }}) as user_id
    from held
)

select * from final
