-- Conversions for attribution: one row per purchase of a consenting user, the unit whose one
-- credit every attribution model shares out. Ephemeral: it is inlined into the attribution mart
-- and its invariant tests, so those tests run with the mart (after the Markov scoring asset),
-- never in the dbt step that builds int_purchases (DECISIONLOG, "Tests that span the scoring
-- step avoid the mart it feeds").
{{ config(materialized='ephemeral') }}
with

purchases as (
    select * from {{ ref('int_purchases') }}
),

final as (
    select
        order_id,
        user_id,
        purchased_at,
        revenue
    from purchases
)

select * from final
