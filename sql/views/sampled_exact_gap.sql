-- one row per (run, keep_prob, quantity) of loss, log_loss and grad: how far the density of the
-- sampled masks lies from the exact density over all 2^N masks (density_curves), as the share of
-- probability the sampled curve puts in the wrong place — half the area between the two curves
-- (total variation; 0 = the same curve, 1 = no overlap)
create or replace view sampled_exact_gap as
with curves as (
    select run_id, keep_prob, quantity, source, bin, step, density
    from density_curves
    where quantity in ('loss', 'log_loss', 'grad')
),

sampled as (
    select * from curves where source = 'sampled'
),

exact as (
    select * from curves where source = 'exact'
),

paired as (
    select
        coalesce(s.run_id, e.run_id) as run_id,
        coalesce(s.keep_prob, e.keep_prob) as keep_prob,
        coalesce(s.quantity, e.quantity) as quantity,
        coalesce(s.step, e.step) as step,
        abs(coalesce(s.density, 0) - coalesce(e.density, 0)) as gap
    from sampled as s
    full outer join exact as e using (run_id, keep_prob, quantity, bin)
),

final as (
    select
        p.run_id,
        p.keep_prob,
        p.quantity,
        0.5 * sum(p.gap * p.step) as share_misplaced
    from paired as p
    group by p.run_id, p.keep_prob, p.quantity
)

select * from final
order by run_id, keep_prob, quantity
