-- one row per (run, keep_prob): the shape of the sampled distributions — skewness and excess kurtosis
-- (population moments, both 0 for a normal) of the loss and the log loss over the sampled masks (F2,
-- F3) and of ∂loss/∂on_i and ∂ln(loss)/∂on_i pooled over masks and nodes (F4, F5)
create or replace view sample_shape as
with masks as (
    select run_id, keep_prob, loss::double as loss, log_loss::double as log_loss from mask_samples
),

node_grads as (
    select run_id, keep_prob, grad::double as grad, grad_log::double as grad_log from sample_node_grads
),

values_ as (
    select run_id, keep_prob, 'loss' as quantity, loss as value from masks
    union all
    select run_id, keep_prob, 'log_loss', log_loss from masks
    union all
    select run_id, keep_prob, 'grad', grad from node_grads
    union all
    select run_id, keep_prob, 'grad_log', grad_log from node_grads
),

centred as (
    select
        run_id,
        keep_prob,
        quantity,
        value - avg(value) over (partition by run_id, keep_prob, quantity) as d
    from values_
),

moments as (
    select
        run_id,
        keep_prob,
        quantity,
        avg(d * d) as m2,
        avg(d * d * d) as m3,
        avg(d * d * d * d) as m4
    from centred
    group by run_id, keep_prob, quantity
),

shape as (
    select
        run_id,
        keep_prob,
        quantity,
        m3 / pow(nullif(m2, 0), 1.5) as skewness,
        m4 / pow(nullif(m2, 0), 2) - 3 as excess_kurtosis
    from moments
),

final as (
    select
        run_id,
        keep_prob,
        max(skewness) filter (where quantity = 'loss') as skew_loss,
        max(excess_kurtosis) filter (where quantity = 'loss') as kurt_loss,
        max(skewness) filter (where quantity = 'log_loss') as skew_log_loss,
        max(excess_kurtosis) filter (where quantity = 'log_loss') as kurt_log_loss,
        max(skewness) filter (where quantity = 'grad') as skew_grad,
        max(excess_kurtosis) filter (where quantity = 'grad') as kurt_grad,
        max(skewness) filter (where quantity = 'grad_log') as skew_grad_log,
        max(excess_kurtosis) filter (where quantity = 'grad_log') as kurt_grad_log
    from shape
    group by run_id, keep_prob
)

select * from final
order by run_id, keep_prob
