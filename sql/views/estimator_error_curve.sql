-- one row per (run, target, estimator, budget): an estimator's error against the exact Shapley
-- (target 'shapley') or Banzhaf ('banzhaf') values at one budget of mask evaluations, over its
-- repetitions — mean and spread (population std, min, max) of the mean absolute error, mean and lowest
-- Spearman ρ, mean top-3 precision, how many repetitions found the ranking (estimator_targets), the
-- evaluations actually used and the time, with the library's own calls and as the kernel's masks
create or replace view estimator_error_curve as
with bench as (
    select * from estimator_benchmark
),

targets as (
    select * from estimator_targets
),

final as (
    select
        b.run_id,
        b.target,
        b.estimator,
        any_value(b.library) as library,
        b.budget,
        count(*) as repetitions,
        avg(b.evaluations) as evaluations_mean,
        max(b.evaluations) as evaluations_max,
        avg(b.mae) as mae_mean,
        stddev_pop(b.mae) as mae_std,
        min(b.mae) as mae_min,
        max(b.mae) as mae_max,
        avg(b.max_abs_error) as max_abs_error_mean,
        avg(b.spearman) as spearman_mean,
        min(b.spearman) as spearman_min,
        avg(b.top3_precision) as top3_precision_mean,
        count(*) filter (where b.spearman >= t.rho_target) as n_rho_reached,
        count(*) filter (where b.top3_precision = 1) as n_top3_reached,
        avg(b.wall_seconds) as wall_seconds_mean,
        avg(b.kernel_seconds) as kernel_seconds_mean
    from bench as b
    cross join targets as t
    group by b.run_id, b.target, b.estimator, b.budget, t.rho_target
)

select * from final
order by run_id, target, estimator, budget
