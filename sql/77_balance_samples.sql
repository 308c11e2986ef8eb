-- one row per (run, keep_prob, sample_id): the imbalance (mask_balance) of each of the study's sampled
-- masks beside its log loss, and its log loss relative to the mean over all masks of its size, which
-- takes out "more nodes, less loss" so a scatter shows the balance conjecture itself
create or replace view balance_samples as
with samples as (
    select run_id, keep_prob, sample_id, mask from mask_samples
),

balance as (
    select * from mask_balance
),

by_size as (
    select run_id, n_on, sum_log_loss / n as mean_log_loss from exhaustive_by_size
),

final as (
    select
        s.run_id,
        s.keep_prob,
        s.sample_id,
        s.mask,
        b.n_on,
        b.n_cutters_on,
        b.imbalance,
        b.log_loss,
        b.log_loss - z.mean_log_loss as log_loss_vs_size
    from samples as s
    join balance as b on b.run_id = s.run_id and b.mask = s.mask
    join by_size as z on z.run_id = b.run_id and z.n_on = b.n_on
)

select * from final
order by run_id, keep_prob, sample_id
