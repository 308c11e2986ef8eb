-- one row per (run, quantity, keep_prob, source, bin): the Gaussian-kernel density of loss, log_loss,
-- grad or grad_log at x = bin · step, smoothed with the study's kernel width (study_reference) — over
-- the sampled masks (source 'sampled'; gradients pooled over nodes) or, for loss, log_loss and grad,
-- over all 2^N masks with a mask of k nodes weighing p^k (1 − p)^(N − k) (source 'exact', from
-- exhaustive_histogram). The same estimate as the report's curves (reports/density.py): values split
-- linearly between the two grid points around them, then summed against the kernel sampled at the
-- grid step. The grid is anchored at 0, so x = 0 is a grid point (F5's trough).
create or replace view density_curves as
with reference as (
    select value as width from study_reference where key = 'kernel_width'
),

masks as (
    select run_id, keep_prob, loss::double as loss, log_loss::double as log_loss from mask_samples
),

node_grads as (
    select run_id, keep_prob, grad::double as grad, grad_log::double as grad_log from sample_node_grads
),

histogram as (
    select run_id, quantity, n_on, n, mean_value from exhaustive_histogram
    where quantity in ('loss', 'log_loss', 'grad')
),

hidden as (
    select run_id, hidden from runs
),

probs as (
    select run_id, keep_prob from keep_prob_roles
),

-- a grid step of a fifth of the width keeps the binning error far below what a curve can show;
-- six widths out the kernel has fallen to e^−18 of its peak
grid as (
    select
        width,
        width / 5 as step,
        30 as taps
    from reference
),

sampled as (
    select run_id, keep_prob, 'loss' as quantity, loss as value, 1.0 as weight from masks
    union all
    select run_id, keep_prob, 'log_loss', log_loss, 1.0 from masks
    union all
    select run_id, keep_prob, 'grad', grad, 1.0 from node_grads
    union all
    select run_id, keep_prob, 'grad_log', grad_log, 1.0 from node_grads
),

exact as (
    select
        g.run_id,
        p.keep_prob,
        g.quantity,
        g.mean_value as value,
        g.n * pow(p.keep_prob, g.n_on) * pow(1 - p.keep_prob, h.hidden - g.n_on) as weight
    from histogram as g
    join hidden as h using (run_id)
    join probs as p using (run_id)
),

observations as (
    select *, 'sampled' as source from sampled
    union all
    select *, 'exact' as source from exact
),

positions as (
    select
        o.run_id,
        o.quantity,
        o.keep_prob,
        o.source,
        o.weight,
        floor(o.value / grid.step)::bigint as left_bin,
        o.value / grid.step - floor(o.value / grid.step) as frac
    from observations as o
    cross join grid
    where isfinite(o.value) and o.weight > 0
),

binned as (
    select run_id, quantity, keep_prob, source, bin, sum(weight) as weight
    from (
        select run_id, quantity, keep_prob, source, left_bin as bin, weight * (1 - frac) as weight from positions
        union all
        select run_id, quantity, keep_prob, source, left_bin + 1, weight * frac from positions
    )
    group by run_id, quantity, keep_prob, source, bin
),

totals as (
    select run_id, quantity, keep_prob, source, sum(weight) as total
    from binned
    group by run_id, quantity, keep_prob, source
),

kernel as (
    select
        offset_,
        exp(-0.5 * pow(offset_ * step / width, 2)) / (width * sqrt(2 * pi())) as height
    from grid
    cross join (select unnest(range(-taps, taps + 1)) as offset_ from grid)
),

smoothed as (
    select
        b.run_id,
        b.quantity,
        b.keep_prob,
        b.source,
        b.bin + k.offset_ as bin,
        sum(b.weight * k.height) as weighted_height
    from binned as b
    cross join kernel as k
    group by b.run_id, b.quantity, b.keep_prob, b.source, b.bin + k.offset_
),

final as (
    select
        s.run_id,
        s.quantity,
        s.keep_prob,
        s.source,
        s.bin,
        s.bin * grid.step as x,
        grid.step,
        s.weighted_height / t.total as density
    from smoothed as s
    join totals as t using (run_id, quantity, keep_prob, source)
    cross join grid
)

select * from final
