-- one row per (run, quantity, n_on, bin): how many masks with n_on nodes on (for the gradients: how
-- many (mask, node) pairs) have loss, log_loss, grad or grad_log in [bin · width, (bin + 1) · width),
-- and their mean value there. Weighting each row by p^k (1−p)^(N−k) gives the exact distribution at
-- any p in a few thousand rows instead of 2^N masks (or N · 2^N gradients)
create or replace table exhaustive_histogram as
with bins as (
    select * from summary_bins
),

final as (
    select
        run_id,
        quantity,
        n_on,
        bin,
        bin_width,
        n,
        sum_value / n as mean_value
    from bins
)

select * from final
order by run_id, quantity, n_on, bin
