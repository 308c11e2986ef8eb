-- one row per (run, k): correlation of a mask's imbalance with its log loss among masks with k nodes
-- on (within one size, so "more nodes" does not confound it); the row with k null pools all masks
create or replace view balance_conjecture as
with balance as (
    select * from mask_balance where imbalance is not null
),

final as (
    select
        run_id,
        n_on as k,
        count(*) as n_masks,
        avg(imbalance) as mean_imbalance,
        corr(imbalance, log_loss) as corr_imbalance_log_loss
    from balance
    group by grouping sets ((run_id, n_on), (run_id))
)

select * from final
order by run_id, k nulls last
