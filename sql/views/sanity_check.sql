-- one row per run that sampled at least two keep probabilities: the study's sanity check (F4) — the
-- mean gradient at the p nearest ½, scaled by the expected number of extra nodes between the lowest
-- and highest p, N · (p_high − p_low), against the actual change of mean loss between them. With the
-- study's p = ¼, ½, ¾ and N = 20 the scale is 10.
create or replace view sanity_check as
with stats as (
    select * from loss_stats
),

grads as (
    select * from grad_stats
),

roles as (
    select * from keep_prob_roles
),

hidden as (
    select run_id, hidden from runs
),

bounds as (
    select
        run_id,
        any_value(keep_prob) filter (where is_lowest) as p_low,
        any_value(keep_prob) filter (where is_highest) as p_high,
        any_value(keep_prob) filter (where is_nearest_half) as p_half
    from roles
    group by run_id
    having count(*) >= 2
),

final as (
    select
        b.run_id,
        b.p_low,
        b.p_high,
        b.p_half,
        g.mean_grad as mean_grad_half,
        (b.p_high - b.p_low) * h.hidden as scale,
        (b.p_high - b.p_low) * h.hidden * g.mean_grad as scaled_mean_grad,
        lo.mean_loss as mean_loss_low,
        hi.mean_loss as mean_loss_high,
        hi.mean_loss - lo.mean_loss as loss_difference,
        (b.p_high - b.p_low) * h.hidden * g.mean_grad / nullif(hi.mean_loss - lo.mean_loss, 0) as ratio
    from bounds as b
    join hidden as h using (run_id)
    join stats as lo on lo.run_id = b.run_id and lo.keep_prob = b.p_low
    join stats as hi on hi.run_id = b.run_id and hi.keep_prob = b.p_high
    join grads as g on g.run_id = b.run_id and g.keep_prob = b.p_half
)

select * from final
order by run_id
