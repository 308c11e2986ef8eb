-- one row per (run, node): the true effect of switching the node on (loss with it on minus loss with
-- it off, over all 2^(N−1) masks of the other nodes) against the mask gradient at both ends.
-- Convexity in each mask entry gives grad_off ≤ effect ≤ grad_on; a bound is "tight" when within
-- 10% of |effect|; the first-order estimate from the on side (grad_on) "misleads" when its sign
-- differs from the effect's.
create or replace view flip_effects as
with masks as (
    select run_id, mask, loss::double as loss, grad from mask_exhaustive
),

nodes as (
    select run_id, unnest(range(hidden)) as node from runs
),

-- the off side of each pair carries the mask it meets on the on side as a column of its own, so the
-- next join is a hash join on (run_id, mask); joined on run_id alone and filtered afterwards, it
-- would compare every mask of a run with every other (10^13 candidate pairs at N = 20)
off_sides as (
    select
        m.run_id,
        n.node,
        m.mask | (1::bigint << n.node) as on_mask,
        m.loss,
        m.grad[n.node + 1]::double as grad_off
    from masks as m
    join nodes as n
        on n.run_id = m.run_id and ((m.mask >> n.node) & 1) = 0
),

pairs as (
    select
        o.run_id,
        o.node,
        on_side.loss - o.loss as effect,
        o.grad_off,
        on_side.grad[o.node + 1]::double as grad_on
    from off_sides as o
    join masks as on_side
        on on_side.run_id = o.run_id and on_side.mask = o.on_mask
),

final as (
    select
        run_id,
        node,
        count(*) as n_pairs,
        avg(effect) as mean_effect,
        avg(grad_off) as mean_grad_off,
        avg(grad_on) as mean_grad_on,
        corr(effect, grad_off) as corr_grad_off,
        corr(effect, grad_on) as corr_grad_on,
        avg((effect - grad_off <= 0.1 * abs(effect))::integer) as share_lower_tight,
        avg((grad_on - effect <= 0.1 * abs(effect))::integer) as share_upper_tight,
        avg((sign(grad_on) != sign(effect))::integer) as share_misled,
        -- float32 rounding aside, convexity allows no violation
        count(*) filter (where effect < grad_off - 1e-5 or effect > grad_on + 1e-5) as bound_violations
    from pairs
    group by run_id, node
)

select * from final
order by run_id, node
