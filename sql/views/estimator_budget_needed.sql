-- one row per (run, target, estimator): the smallest budget at which the estimator finds the ranking
-- (estimator_targets) — mean Spearman ρ over the repetitions ≥ rho_target (budget_rho), top-3
-- precision 1 in every repetition (budget_top3), both at one budget (budget_both); null: not within
-- the budgets measured — and, at its largest budget, the mean absolute error and ρ; and the total
-- time over every budget and repetition, with the library's calls and as the kernel's masks
create or replace view estimator_budget_needed as
with curve as (
    select * from estimator_error_curve
),

bench as (
    select * from estimator_benchmark
),

targets as (
    select * from estimator_targets
),

flagged as (
    select
        c.*,
        c.spearman_mean >= t.rho_target as rho_reached,
        c.n_top3_reached = c.repetitions as top3_reached
    from curve as c
    cross join targets as t
),

largest as (
    select
        run_id,
        target,
        estimator,
        budget as max_budget,
        mae_mean as final_mae,
        spearman_mean as final_spearman,
        top3_precision_mean as final_top3_precision
    from curve
    qualify row_number() over (partition by run_id, target, estimator order by budget desc) = 1
),

reached as (
    select
        run_id,
        target,
        estimator,
        any_value(library) as library,
        min(budget) filter (where rho_reached) as budget_rho,
        min(budget) filter (where top3_reached) as budget_top3,
        min(budget) filter (where rho_reached and top3_reached) as budget_both
    from flagged
    group by run_id, target, estimator
),

totals as (
    select
        run_id,
        target,
        estimator,
        sum(wall_seconds) as total_wall_seconds,
        sum(kernel_seconds) as total_kernel_seconds,
        sum(evaluations) as total_evaluations
    from bench
    group by run_id, target, estimator
),

final as (
    select
        r.run_id,
        r.target,
        r.estimator,
        r.library,
        r.budget_rho,
        r.budget_top3,
        r.budget_both,
        l.max_budget,
        l.final_mae,
        l.final_spearman,
        l.final_top3_precision,
        t.total_wall_seconds,
        t.total_kernel_seconds,
        t.total_evaluations
    from reached as r
    join largest as l using (run_id, target, estimator)
    join totals as t using (run_id, target, estimator)
)

select * from final
order by run_id, target, estimator
