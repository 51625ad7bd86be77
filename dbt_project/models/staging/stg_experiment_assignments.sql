-- Valid rows of raw.experiment_assignments: typed, UTC, deduplicated (first occurrence kept).
with

validated as (
    select * from {{ ref('base_experiment_assignments') }}
),

final as (
    select
        experiment_id,
        user_id,
        variant,
        assigned_at
    from validated
    where _rejection_reason is null
)

select * from final
