-- one row per (run, keep_prob): the distribution of loss and log loss over the sampled masks
-- std is the population standard deviation (the best-fit normal of the study's F3 and T1)
create or replace view loss_stats as
with samples as (
    select * from mask_samples
),

hidden as (
    select run_id, hidden from runs
),

final as (
    select
        s.run_id,
        s.keep_prob,
        count(*) as n,
        avg(s.loss) as mean_loss,
        stddev_pop(s.loss) as std_loss,
        avg(s.log_loss) as mean_log_loss,
        stddev_pop(s.log_loss) as std_log_loss,
        count(*) filter (where s.n_on = h.hidden) as all_on_count,
        count(distinct s.mask) as distinct_masks
    from samples as s
    join hidden as h using (run_id)
    group by s.run_id, s.keep_prob
)

select * from final
order by run_id, keep_prob
