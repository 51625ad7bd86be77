-- Experiment results: one row per experiment x variant over the assignments of consenting users.
-- A converter is an assigned user with a purchase at or after assigned_at and at most
-- `experiment_window_days` later (the boundary counts). Every variant is compared with the
-- `experiment_control_variant` of its experiment: uplift, a two-proportion z-test with the
-- pooled standard error (two-sided p), and the 95% confidence interval of the difference with
-- the unpooled standard error. The sample-ratio-mismatch (SRM) check compares the experiment's
-- assigned counts with an equal split across its variants (chi-square goodness of fit).
-- The statistics are portable SQL macros (macros/statistics.sql).
{%- set window_days = var('experiment_window_days') -%}
{%- if window_days is not number or window_days <= 0 -%}
    {{ exceptions.raise_compiler_error(
        "experiment_window_days must be a positive number of days, got: " ~ window_days) }}
{%- endif -%}
{%- set window_seconds = (window_days * 86400) | int -%}
{%- set control_variant = var('experiment_control_variant') | string %}
with

assignments as (
    select * from {{ ref('stg_experiment_assignments') }}
),

users as (
    select user_id from {{ ref('int_users') }}
),

purchases as (
    select
        order_id,
        user_id,
        purchased_at
    from {{ ref('int_purchases') }}
),

consented_assignments as (
    select
        assignments.experiment_id,
        assignments.variant,
        assignments.user_id,
        assignments.assigned_at
    from assignments
    inner join users on assignments.user_id = users.user_id
),

assignment_outcomes as (
    select
        consented_assignments.experiment_id,
        consented_assignments.variant,
        consented_assignments.user_id,
        max(case when purchases.order_id is not null then 1 else 0 end) as converted
    from consented_assignments
    left join purchases
        on
            consented_assignments.user_id = purchases.user_id
            and consented_assignments.assigned_at <= purchases.purchased_at
            and {{ dbt.dateadd('second', window_seconds, 'consented_assignments.assigned_at') }}
            >= purchases.purchased_at
    group by
        consented_assignments.experiment_id,
        consented_assignments.variant,
        consented_assignments.user_id
),

variants as (
    select
        experiment_id,
        variant,
        count(*) as assigned_users,
        sum(converted) as converters
    from assignment_outcomes
    group by experiment_id, variant
),

variants_in_experiment as (
    select
        *,
        {{ safe_divide('converters', 'assigned_users') }} as conversion_rate,
        variant = {{ quote_literal(control_variant) }} as is_control,
        {{ safe_divide('sum(assigned_users) over (partition by experiment_id)',
                       'count(*) over (partition by experiment_id)') }} as expected_users,
        count(*) over (partition by experiment_id) as variant_count
    from variants
),

sample_ratio as (
    select
        experiment_id,
        max(variant_count) - 1 as degrees_of_freedom,
        sum(
            (assigned_users - expected_users) * (assigned_users - expected_users)
            / expected_users
        ) as chi_square
    from variants_in_experiment
    group by experiment_id
),

sample_ratio_scored as (
    select
        experiment_id,
        chi_square,
        degrees_of_freedom,
        {{ chi_square_normal_score('chi_square', 'degrees_of_freedom') }} as normal_score
    from sample_ratio
),

sample_ratio_tested as (
    select
        experiment_id,
        {{ chi_square_upper_tail('chi_square', 'degrees_of_freedom', 'normal_score') }}
            as srm_p_value
    from sample_ratio_scored
),

control as (
    select
        experiment_id,
        assigned_users as control_users,
        converters as control_converters,
        conversion_rate as control_conversion_rate
    from variants_in_experiment
    where is_control
),

compared as (
    select
        variants_in_experiment.experiment_id,
        variants_in_experiment.variant,
        variants_in_experiment.is_control,
        variants_in_experiment.assigned_users,
        variants_in_experiment.converters,
        variants_in_experiment.conversion_rate,
        control.control_conversion_rate,
        variants_in_experiment.conversion_rate - control.control_conversion_rate
            as absolute_uplift,
        {{ safe_divide(
            'variants_in_experiment.converters + control.control_converters',
            'variants_in_experiment.assigned_users + control.control_users'
        ) }} as pooled_rate,
        {{ safe_divide('1', 'variants_in_experiment.assigned_users') }}
        + {{ safe_divide('1', 'control.control_users') }} as inverse_sizes,
        variants_in_experiment.conversion_rate
        * (1 - variants_in_experiment.conversion_rate)
        / variants_in_experiment.assigned_users
        + control.control_conversion_rate
        * (1 - control.control_conversion_rate)
        / control.control_users as unpooled_variance
    from variants_in_experiment
    left join control on variants_in_experiment.experiment_id = control.experiment_id
),

standard_errors as (
    select
        *,
        sqrt(pooled_rate * (1 - pooled_rate) * inverse_sizes) as pooled_standard_error,
        sqrt(unpooled_variance) as unpooled_standard_error
    from compared
),

tested as (
    select
        *,
        {{ safe_divide('absolute_uplift', 'control_conversion_rate') }} as relative_uplift,
        case
            when not is_control
                then {{ safe_divide('absolute_uplift', 'pooled_standard_error') }}
        end as z_score,
        case
            when not is_control
                then absolute_uplift - 1.959963984540054e0 * unpooled_standard_error
        end as ci_low,
        case
            when not is_control
                then absolute_uplift + 1.959963984540054e0 * unpooled_standard_error
        end as ci_high
    from standard_errors
),

final as (
    select
        cast(tested.experiment_id as {{ dbt.type_string() }}) as experiment_id,
        cast(tested.variant as {{ dbt.type_string() }}) as variant,
        tested.is_control,
        cast(tested.assigned_users as {{ dbt.type_bigint() }}) as assigned_users,
        cast(tested.converters as {{ dbt.type_bigint() }}) as converters,
        cast(tested.conversion_rate as double) as conversion_rate,
        cast(tested.control_conversion_rate as double) as control_conversion_rate,
        cast(tested.absolute_uplift as double) as absolute_uplift,
        cast(tested.relative_uplift as double) as relative_uplift,
        cast(tested.z_score as double) as z_score,
        cast({{ two_sided_p_value('tested.z_score') }} as double) as p_value,
        cast(tested.ci_low as double) as ci_low,
        cast(tested.ci_high as double) as ci_high,
        cast(sample_ratio_tested.srm_p_value as double) as srm_p_value,
        sample_ratio_tested.srm_p_value < 0.001 as srm_detected
    from tested
    inner join sample_ratio_tested on tested.experiment_id = sample_ratio_tested.experiment_id
)

select * from final
