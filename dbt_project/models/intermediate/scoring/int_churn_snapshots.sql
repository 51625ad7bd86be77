-- The "as of" times of the churn model, one row each. Features are computed from data up to
-- as_of_at only; the label looks at (as_of_at, label_ends_at].
--   train_0 .. train_<n-1>  data cutoff - 2 x horizon - k x 30 days: rolling training origins,
--                           so the model learns from several moments, and every training label
--                           ends before the validation snapshot's features do;
--   validation              data cutoff - horizon: the holdout, its labels end at the cutoff;
--   score                   the data cutoff: the customers scored today (no label yet).
-- Ephemeral: a few rows inlined into the feature models.
--
-- Only the churn model's fit reads the training and validation snapshots: a run that scores
-- churn with its stored model computes the score snapshot alone (churn_feature_scope(): the
-- orchestration says so, DECISIONLOG 151), so the daily run does not count every customer's
-- touchpoints and sessions at five past moments that no step reads.
{{ config(materialized='ephemeral') }}
{%- set horizon = var('churn_horizon_days') | int %}
{%- set training_snapshots = var('churn_training_snapshots') | int %}
{%- if horizon <= 0 %}
    {{ exceptions.raise_compiler_error("churn_horizon_days must be a positive number of days") }}
{%- endif %}
{%- if training_snapshots <= 0 %}
    {{ exceptions.raise_compiler_error("churn_training_snapshots must be 1 or more") }}
{%- endif %}
with

cutoff as (
    select * from {{ ref('int_data_cutoff') }}
),

snapshots as (
    {%- if churn_feature_scope() == 'all' %}
        {%- for k in range(training_snapshots) %}
            select
                {{ quote_literal(var('churn_snapshots')[0] ~ '_' ~ k) }} as snapshot,
                {{ dbt.dateadd('day', -2 * horizon - 30 * k, 'data_cutoff_at') }} as as_of_at
            from cutoff
            union all
        {%- endfor %}
        select
            {{ label('churn_snapshots', 'validation') }} as snapshot,
            {{ dbt.dateadd('day', -horizon, 'data_cutoff_at') }} as as_of_at
        from cutoff
        union all
    {%- endif %}
    select
        {{ label('churn_snapshots', 'score') }} as snapshot,
        data_cutoff_at as as_of_at
    from cutoff
),

final as (
    select
        snapshot,
        as_of_at,
        {{ dbt.dateadd('day', horizon, 'as_of_at') }} as label_ends_at
    from snapshots
)

select * from final
