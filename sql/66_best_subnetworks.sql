-- one row per (run, k): among all masks with k nodes on, the best (lowest loss) and worst masks,
-- the median and mean loss, and how many masks come within 10% of the best loss
create or replace view best_subnetworks as
with masks as (
    select run_id, mask, n_on, loss::double as loss from mask_exhaustive
),

by_size as (
    select
        run_id,
        n_on as k,
        count(*) as n_masks,
        arg_min(mask, loss) as best_mask,
        min(loss) as best_loss,
        arg_max(mask, loss) as worst_mask,
        max(loss) as worst_loss,
        median(loss) as median_loss,
        avg(loss) as mean_loss
    from masks
    group by run_id, n_on
),

final as (
    select
        b.*,
        (select count(*) from masks as m
         where m.run_id = b.run_id and m.n_on = b.k and m.loss <= 1.1 * b.best_loss) as n_within_10pct
    from by_size as b
)

select * from final
order by run_id, k
