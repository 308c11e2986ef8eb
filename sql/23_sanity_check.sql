-- one row per run: the study's sanity check (F4) — the mean gradient at p = ½, scaled by the
-- expected number of extra nodes between the lowest and highest p, against the actual change of
-- mean loss between them. With the study's p = ¼, ½, ¾ and N = 20 the scale is 10.
create or replace view sanity_check as
with stats as (
    select * from loss_stats
),

grads as (
    select * from grad_stats
),

hidden as (
    select run_id, hidden from runs
),

bounds as (
    select
        run_id,
        min(keep_prob) as p_low,
        max(keep_prob) as p_high
    from stats
    group by run_id
),

final as (
    select
        b.run_id,
        g.mean_grad as mean_grad_half,
        (b.p_high - b.p_low) * h.hidden as scale,
        (b.p_high - b.p_low) * h.hidden * g.mean_grad as scaled_mean_grad,
        lo.mean_loss as mean_loss_low,
        hi.mean_loss as mean_loss_high,
        hi.mean_loss - lo.mean_loss as loss_difference,
        (b.p_high - b.p_low) * h.hidden * g.mean_grad / (hi.mean_loss - lo.mean_loss) as ratio
    from bounds as b
    join hidden as h using (run_id)
    join stats as lo on lo.run_id = b.run_id and lo.keep_prob = b.p_low
    join stats as hi on hi.run_id = b.run_id and hi.keep_prob = b.p_high
    left join grads as g on g.run_id = b.run_id and g.keep_prob = 0.5
)

select * from final
order by run_id
