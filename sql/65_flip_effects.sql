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

pairs as (
    select
        off_side.run_id,
        n.node,
        on_side.loss - off_side.loss as effect,
        off_side.grad[n.node + 1]::double as grad_off,
        on_side.grad[n.node + 1]::double as grad_on
    from masks as off_side
    join nodes as n
        on n.run_id = off_side.run_id and ((off_side.mask >> n.node) & 1) = 0
    join masks as on_side
        on on_side.run_id = off_side.run_id and on_side.mask = off_side.mask | (1::bigint << n.node)
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
