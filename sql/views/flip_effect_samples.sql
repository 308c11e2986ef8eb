-- one row per (run, sample_id, node) for the study's sampled masks at the keep_prob nearest ½: the
-- pair of masks that agree with the sampled one except in the node (off side, on side), the true
-- effect of switching the node on and the mask gradient of that node at both ends — the points
-- behind flip_effects' aggregates, for a scatter. At p = ½ every mask is equally likely, so these
-- pairs are a uniform sample of all N · 2^(N−1) pairs.
create or replace view flip_effect_samples as
with flips as (
    select * from summary_sample_flips
),

half_prob as (
    select run_id, keep_prob from keep_prob_roles where is_nearest_half
),

final as (
    select
        f.run_id,
        f.keep_prob,
        f.sample_id,
        f.node,
        f.node_on_in_sample,
        f.off_mask,
        f.n_on_off,
        f.loss_off::double as loss_off,
        f.loss_on::double - f.loss_off::double as effect,
        f.grad_off::double as grad_off,
        f.grad_on::double as grad_on
    from flips as f
    join half_prob as h using (run_id, keep_prob)
)

select * from final
order by run_id, sample_id, node
