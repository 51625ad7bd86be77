-- Revenue is summed as amount - discount without conversion, so every order must be in one
-- reporting currency (DECISIONLOG.md). A second currency warns instead of failing the build.
{{ config(severity = 'warn') }}

with

currencies as (
    select
        coalesce(currency, '(none)') as currency,
        count(*) over () as currency_count
    from {{ ref('stg_orders') }}
    group by coalesce(currency, '(none)')
)

select currency
from currencies
where currency_count > 1
