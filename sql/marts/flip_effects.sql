-- one row per (run, node): the true effect of switching the node on (loss with it on minus loss with
-- it off, over all 2^(N−1) masks of the other nodes) against the mask gradient at both ends.
-- Convexity in each mask entry gives grad_off ≤ effect ≤ grad_on; a bound is "tight" when within
-- 10% of |effect|; the first-order estimate from the on side (grad_on) "misleads" when its sign
-- differs from the effect's; a violation breaks a bound by more than float32 rounding (1e-5)
create or replace table flip_effects as
with pairs as (
    select * from summary_flips
),

final as (
    select
        run_id,
        node,
        n_pairs,
        sum_effect / n_pairs as mean_effect,
        sum_grad_off / n_pairs as mean_grad_off,
        sum_grad_on / n_pairs as mean_grad_on,
        corr_of(sum_effect_x_grad_off / n_pairs - (sum_effect / n_pairs) * (sum_grad_off / n_pairs),
            sum_effect2 / n_pairs - pow(sum_effect / n_pairs, 2),
            sum_grad_off2 / n_pairs - pow(sum_grad_off / n_pairs, 2)) as corr_grad_off,
        corr_of(sum_effect_x_grad_on / n_pairs - (sum_effect / n_pairs) * (sum_grad_on / n_pairs),
            sum_effect2 / n_pairs - pow(sum_effect / n_pairs, 2),
            sum_grad_on2 / n_pairs - pow(sum_grad_on / n_pairs, 2)) as corr_grad_on,
        n_lower_tight / n_pairs as share_lower_tight,
        n_upper_tight / n_pairs as share_upper_tight,
        n_misled / n_pairs as share_misled,
        n_bound_violations as bound_violations
    from pairs
)

select * from final
order by run_id, node
