-- one row per (run, keep_prob): F4's curves judged at each p — the peak of the density of ∂loss/∂on_i
-- over the sampled masks (density_curves, smoothed with the study's kernel, as F4 draws it) against
-- the peak of its dotted best-fit normal, 1/(σ√(2π)) with σ from grad_stats (more_peaked: the curve
-- rises above its normal fit); and its tails, by the yardstick of exact_tails: the excess kurtosis
-- (sample_shape) and the share of (mask, node) pairs more than tail_sigmas standard deviations from
-- the mean, against a normal's share (study_reference); tails as in exact_tails: 'heavier' than a
-- normal's when both measures are above a normal's, 'lighter' when both are below, else 'mixed'
create or replace view grad_peaks as
with curves as (
    select run_id, keep_prob, density from density_curves where quantity = 'grad' and source = 'sampled'
),

stats as (
    select run_id, keep_prob, n, mean_grad, std_grad from grad_stats
),

shape as (
    select run_id, keep_prob, kurt_grad from sample_shape
),

node_grads as (
    select run_id, keep_prob, grad::double as grad from sample_node_grads
),

reference as (
    select
        max(value) filter (where key = 'tail_sigmas') as tail_sigmas,
        max(value) filter (where key = 'normal_tail_share') as normal_tail_share
    from study_reference
),

peaks as (
    select run_id, keep_prob, max(density) as peak_density from curves group by run_id, keep_prob
),

tails as (
    select
        g.run_id,
        g.keep_prob,
        avg((abs(g.grad - s.mean_grad) > r.tail_sigmas * s.std_grad)::integer) as tail_share
    from node_grads as g
    join stats as s using (run_id, keep_prob)
    cross join reference as r
    group by g.run_id, g.keep_prob
),

final as (
    select
        s.run_id,
        s.keep_prob,
        p.peak_density,
        1 / (s.std_grad * sqrt(2 * pi())) as normal_peak_density,
        p.peak_density > 1 / (s.std_grad * sqrt(2 * pi())) as more_peaked,
        h.kurt_grad,
        t.tail_share,
        r.tail_sigmas,
        r.normal_tail_share,
        case
            when h.kurt_grad > 0 and t.tail_share > r.normal_tail_share then 'heavier'
            when h.kurt_grad < 0 and t.tail_share < r.normal_tail_share then 'lighter'
            else 'mixed'
        end as tails
    from stats as s
    cross join reference as r
    left join peaks as p using (run_id, keep_prob)
    left join shape as h using (run_id, keep_prob)
    left join tails as t using (run_id, keep_prob)
    where s.std_grad > 0
)

select * from final
order by run_id, keep_prob
