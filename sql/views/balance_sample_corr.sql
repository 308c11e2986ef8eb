-- one row per (run, keep_prob): among the study's sampled masks with a cutting node on
-- (balance_samples), how many there are and the correlation of their imbalance with their log loss
-- measured from the mean of their size — the scatter beside the balance conjecture
create or replace view balance_sample_corr as
with samples as (
    select run_id, keep_prob, imbalance, log_loss_vs_size from balance_samples where imbalance is not null
),

final as (
    select
        run_id,
        keep_prob,
        count(*) as n,
        corr(imbalance, log_loss_vs_size) as corr
    from samples
    group by run_id, keep_prob
)

select * from final
order by run_id, keep_prob
