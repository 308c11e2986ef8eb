-- one row per (run, quantity, n_on, bin): how many masks with n_on nodes on (for the gradients: how
-- many (mask, node) pairs) have loss, log_loss, grad or grad_log in [bin · width, (bin + 1) · width),
-- width = 0.002, and their mean value there. Weighting each row by p^k (1−p)^(N−k) gives the exact
-- distribution at any p in a few thousand rows instead of 2^N masks (or N · 2^N gradients); the
-- width is a fifteenth of the study's kernel width 0.03, far below what a smoothed curve can show.
create or replace view exhaustive_histogram as
with masks as (
    select
        run_id,
        n_on,
        loss::double as loss,
        log_loss::double as log_loss,
        grad::double[] as grad
    from mask_exhaustive
),

node_grads as (
    select
        run_id,
        n_on,
        loss,
        unnest(grad) as grad
    from masks
),

values_long as (
    select run_id, 'loss' as quantity, n_on, loss as value from masks
    union all
    select run_id, 'log_loss' as quantity, n_on, log_loss as value from masks
    union all
    select run_id, 'grad' as quantity, n_on, grad as value from node_grads
    union all
    -- ∂ln(loss)/∂on_i = (∂loss/∂on_i) / loss
    select run_id, 'grad_log' as quantity, n_on, grad / loss as value from node_grads
),

binned as (
    select
        run_id,
        quantity,
        n_on,
        floor(value / 0.002::double)::bigint as bin,
        value
    from values_long
),

final as (
    select
        run_id,
        quantity,
        n_on,
        bin,
        0.002::double as bin_width,
        count(*) as n,
        avg(value) as mean_value
    from binned
    group by run_id, quantity, n_on, bin
)

select * from final
