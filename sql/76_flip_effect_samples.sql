-- one row per (run, sample_id, node) for the study's sampled masks at the keep_prob nearest ½: the
-- pair of masks that agree with the sampled one except in the node (off side, on side), the true
-- effect of switching the node on (looked up in mask_exhaustive) and the mask gradient of that node
-- at both ends — the points behind flip_effects' aggregates, for a scatter. At p = ½ every mask is
-- equally likely, so these pairs are a uniform sample of all N · 2^(N−1) pairs.
create or replace view flip_effect_samples as
with samples as (
    select run_id, keep_prob, sample_id, mask from mask_samples
),

masks as (
    select run_id, mask, n_on, loss::double as loss, grad from mask_exhaustive
),

nodes as (
    select run_id, unnest(range(hidden)) as node from runs
),

half_prob as (
    select
        run_id,
        arg_min(keep_prob, abs(keep_prob - 0.5)) as keep_prob
    from (select distinct run_id, keep_prob from samples)
    group by run_id
),

-- both ends of each pair as columns of their own, so the lookups are hash joins on (run_id, mask)
pair_masks as (
    select
        s.run_id,
        s.keep_prob,
        s.sample_id,
        n.node,
        ((s.mask >> n.node) & 1)::integer as node_on_in_sample,
        s.mask & ~(1::bigint << n.node) as off_mask,
        s.mask | (1::bigint << n.node) as on_mask
    from samples as s
    join half_prob as h using (run_id, keep_prob)
    join nodes as n on n.run_id = s.run_id
),

final as (
    select
        p.run_id,
        p.keep_prob,
        p.sample_id,
        p.node,
        p.node_on_in_sample,
        p.off_mask,
        off_side.n_on as n_on_off,
        off_side.loss as loss_off,
        on_side.loss - off_side.loss as effect,
        off_side.grad[p.node + 1]::double as grad_off,
        on_side.grad[p.node + 1]::double as grad_on
    from pair_masks as p
    join masks as off_side on off_side.run_id = p.run_id and off_side.mask = p.off_mask
    join masks as on_side on on_side.run_id = p.run_id and on_side.mask = p.on_mask
)

select * from final
order by run_id, sample_id, node
