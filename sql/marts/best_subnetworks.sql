-- one row per (run, k): among all masks with k nodes on, the best (lowest loss) and worst masks,
-- the median and mean loss, and how many masks come within 10% of the best loss
create or replace table best_subnetworks as
with sizes as (
    select * from summary_by_size
),

final as (
    select
        run_id,
        n_on as k,
        n as n_masks,
        best_mask,
        best_loss,
        worst_mask,
        worst_loss,
        median_loss,
        sum_loss / n as mean_loss,
        n_near_best as n_within_10pct
    from sizes
)

select * from final
order by run_id, k
