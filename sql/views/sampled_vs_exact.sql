-- one row per (run, keep_prob) of the sampled masks: the study's sampled mean and std of loss, log
-- loss and the pooled gradient beside the exact values over all 2^N masks, and how many standard
-- errors the sampled mean of loss and log loss lies from the truth (z = (sampled − exact) / (exact
-- std / √n); |z| > 2 would be unusual for n independent masks)
create or replace view sampled_vs_exact as
with sampled_loss as (
    select * from loss_stats
),

sampled_grad as (
    select * from grad_stats
),

exact as (
    select * from exact_moments
),

final as (
    select
        s.run_id,
        s.keep_prob,
        s.n,
        s.mean_loss as mean_loss_sampled,
        e.mean_loss as mean_loss_exact,
        (s.mean_loss - e.mean_loss) / (e.std_loss / sqrt(s.n)) as z_mean_loss,
        s.std_loss as std_loss_sampled,
        e.std_loss as std_loss_exact,
        s.mean_log_loss as mean_log_loss_sampled,
        e.mean_log_loss as mean_log_loss_exact,
        (s.mean_log_loss - e.mean_log_loss) / (e.std_log_loss / sqrt(s.n)) as z_mean_log_loss,
        s.std_log_loss as std_log_loss_sampled,
        e.std_log_loss as std_log_loss_exact,
        g.mean_grad as mean_grad_sampled,
        e.mean_grad as mean_grad_exact,
        g.std_grad as std_grad_sampled,
        e.std_grad as std_grad_exact
    from sampled_loss as s
    join exact as e using (run_id, keep_prob)
    left join sampled_grad as g using (run_id, keep_prob)
)

select * from final
order by run_id, keep_prob
