-- one row per (run, keep_prob): exact moments over all 2^N masks when each node is kept with
-- probability keep_prob, a mask with k nodes on weighing p^k (1-p)^(N-k); keep_prob runs over
-- the grid of study_reference's exact_keep_prob_step (0.05 … 0.95) and every sampled keep_prob
create or replace table exact_moments as
with by_size as (
    select * from exhaustive_by_size
),

hidden as (
    select run_id, hidden from runs
),

step as (
    select value as step from study_reference where key = 'exact_keep_prob_step'
),

probs as (
    select round(unnest(range(1, round(1 / step)::bigint)) * step, 10) as keep_prob from step
    union
    select distinct keep_prob from mask_samples
),

weighted as (
    select
        b.run_id,
        p.keep_prob,
        h.hidden,
        pow(p.keep_prob, b.n_on) * pow(1 - p.keep_prob, h.hidden - b.n_on) as w,
        b.*
    from by_size as b
    join hidden as h using (run_id)
    cross join probs as p
),

sums as (
    select
        run_id,
        keep_prob,
        any_value(hidden) as hidden,
        sum(w * n) as total_weight,
        sum(w * sum_loss) as e_loss,
        sum(w * sum_loss2) as e_loss2,
        sum(w * sum_log_loss) as e_log_loss,
        sum(w * sum_log_loss2) as e_log_loss2,
        sum(w * sum_grad) as e_grad_pooled,
        sum(w * sum_grad2) as e_grad2_pooled,
        sum(w * sum_grad_log) as e_grad_log_pooled,
        sum(w * sum_grad_log2) as e_grad_log2_pooled
    from weighted
    group by run_id, keep_prob
),

final as (
    select
        run_id,
        keep_prob,
        total_weight,
        e_loss as mean_loss,
        sqrt(greatest(e_loss2 - e_loss * e_loss, 0)) as std_loss,
        e_log_loss as mean_log_loss,
        sqrt(greatest(e_log_loss2 - e_log_loss * e_log_loss, 0)) as std_log_loss,
        e_grad_pooled / hidden as mean_grad,
        sqrt(greatest(e_grad2_pooled / hidden - pow(e_grad_pooled / hidden, 2), 0)) as std_grad,
        e_grad_log_pooled / hidden as mean_grad_log,
        sqrt(greatest(e_grad_log2_pooled / hidden - pow(e_grad_log_pooled / hidden, 2), 0)) as std_grad_log
    from sums
)

select * from final
order by run_id, keep_prob
