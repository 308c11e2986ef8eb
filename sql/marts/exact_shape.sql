-- one row per (run, keep_prob): exact skewness and excess kurtosis (population; both 0 for a normal)
-- of the loss, the log loss and the gradient pooled over nodes, over all 2^N masks with a mask of k
-- nodes weighing p^k (1−p)^(N−k); keep_prob as in exact_moments. Log-normal loss = skewness and
-- excess kurtosis of log_loss near 0 (the study's F3 and T1).
create or replace table exact_shape as
with sizes as (
    select * from summary_by_size
),

hidden as (
    select run_id, hidden from runs
),

probs as (
    select distinct run_id, keep_prob from exact_moments
),

-- the summaries hold Σ d^1 … Σ d^4 per size, d measured from the run's mean over all masks, so the
-- central moments below do not come from differences of large raw sums
weights as (
    select
        p.run_id,
        p.keep_prob,
        s.*,
        s.n * h.hidden as n_grad,
        pow(p.keep_prob, s.n_on) * pow(1 - p.keep_prob, h.hidden - s.n_on) as w
    from probs as p
    join hidden as h using (run_id)
    join sizes as s on s.run_id = p.run_id
),

-- raw moments about the centre at each p: Σ_k w_k · (sum over size k) / Σ_k w_k · (count of size k)
weighted as (
    select
        run_id,
        keep_prob,
        sum(w * c1_loss) / sum(w * n) as m1_loss,
        sum(w * c2_loss) / sum(w * n) as m2_loss,
        sum(w * c3_loss) / sum(w * n) as m3_loss,
        sum(w * c4_loss) / sum(w * n) as m4_loss,
        sum(w * c1_log_loss) / sum(w * n) as m1_log_loss,
        sum(w * c2_log_loss) / sum(w * n) as m2_log_loss,
        sum(w * c3_log_loss) / sum(w * n) as m3_log_loss,
        sum(w * c4_log_loss) / sum(w * n) as m4_log_loss,
        sum(w * c1_grad) / sum(w * n_grad) as m1_grad,
        sum(w * c2_grad) / sum(w * n_grad) as m2_grad,
        sum(w * c3_grad) / sum(w * n_grad) as m3_grad,
        sum(w * c4_grad) / sum(w * n_grad) as m4_grad
    from weights
    group by run_id, keep_prob
),

-- central moments from raw moments about a nearby point d: μ2 = m2 − d², μ3 = m3 − 3 d m2 + 2 d³,
-- μ4 = m4 − 4 d m3 + 6 d² m2 − 3 d⁴
central as (
    select
        run_id,
        keep_prob,
        m2_loss - pow(m1_loss, 2) as v_loss,
        m3_loss - 3 * m1_loss * m2_loss + 2 * pow(m1_loss, 3) as t_loss,
        m4_loss - 4 * m1_loss * m3_loss + 6 * pow(m1_loss, 2) * m2_loss - 3 * pow(m1_loss, 4) as q_loss,
        m2_log_loss - pow(m1_log_loss, 2) as v_log_loss,
        m3_log_loss - 3 * m1_log_loss * m2_log_loss + 2 * pow(m1_log_loss, 3) as t_log_loss,
        m4_log_loss - 4 * m1_log_loss * m3_log_loss + 6 * pow(m1_log_loss, 2) * m2_log_loss
            - 3 * pow(m1_log_loss, 4) as q_log_loss,
        m2_grad - pow(m1_grad, 2) as v_grad,
        m3_grad - 3 * m1_grad * m2_grad + 2 * pow(m1_grad, 3) as t_grad,
        m4_grad - 4 * m1_grad * m3_grad + 6 * pow(m1_grad, 2) * m2_grad - 3 * pow(m1_grad, 4) as q_grad
    from weighted
),

final as (
    select
        run_id,
        keep_prob,
        t_loss / pow(nullif(v_loss, 0), 1.5) as skew_loss,
        q_loss / pow(nullif(v_loss, 0), 2) - 3 as kurt_loss,
        t_log_loss / pow(nullif(v_log_loss, 0), 1.5) as skew_log_loss,
        q_log_loss / pow(nullif(v_log_loss, 0), 2) - 3 as kurt_log_loss,
        t_grad / pow(nullif(v_grad, 0), 1.5) as skew_grad,
        q_grad / pow(nullif(v_grad, 0), 2) - 3 as kurt_grad
    from central
)

select * from final
order by run_id, keep_prob
