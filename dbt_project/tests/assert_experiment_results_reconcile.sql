-- experiment_results invariants: every consenting assignment is counted once, converters never
-- exceed assigned users, the SRM p-value is one value per experiment, an experiment has at most
-- one control row, the interval contains the uplift, and p_value is null exactly when z_score is.
with

results as (
    select * from {{ ref('experiment_results') }}
),

assignments as (
    select * from {{ ref('stg_experiment_assignments') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

consented as (
    select
        assignments.experiment_id,
        count(*) as assignments
    from assignments
    inner join users on assignments.user_id = users.user_id
    group by assignments.experiment_id
),

per_experiment as (
    select
        experiment_id,
        sum(assigned_users) as assigned_users,
        count(distinct srm_p_value) as srm_values,
        sum(case when is_control then 1 else 0 end) as control_rows
    from results
    group by experiment_id
)

select
    'assignments not conserved' as failure,
    coalesce(consented.experiment_id, per_experiment.experiment_id) as experiment_id
from consented
full outer join per_experiment on consented.experiment_id = per_experiment.experiment_id
where
    consented.assignments is null
    or per_experiment.assigned_users is null
    or consented.assignments != per_experiment.assigned_users

union all

select
    'srm differs within experiment' as failure,
    experiment_id
from per_experiment
where srm_values > 1 or control_rows > 1

union all

select
    'row arithmetic' as failure,
    experiment_id
from results
where
    converters > assigned_users
    or ci_low > absolute_uplift
    or ci_high < absolute_uplift
    or (p_value is null) != (z_score is null)
    or (srm_detected is null) != (srm_p_value is null)
    or (is_control and z_score is not null)
