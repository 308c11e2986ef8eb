-- one row per (run, k): correlation of log loss between each mask with k nodes on and its
-- complement (the study's F9 surprise), over all masks; the row with k null pools every mask
create or replace view complement_pairs as
with masks as (
    select run_id, mask, n_on, log_loss::double as log_loss from mask_exhaustive
),

full_masks as (
    select run_id, (1::bigint << hidden) - 1 as full_mask from runs
),

pairs as (
    select
        m.run_id,
        m.n_on as k,
        m.log_loss,
        c.log_loss as log_loss_complement
    from masks as m
    join full_masks as f using (run_id)
    join masks as c on c.run_id = m.run_id and c.mask = xor(m.mask, f.full_mask)
),

final as (
    select
        run_id,
        k,
        count(*) as n_masks,
        corr(log_loss, log_loss_complement) as corr,
        covar_pop(log_loss, log_loss_complement) as cov
    from pairs
    group by grouping sets ((run_id, k), (run_id))
)

select * from final
order by run_id, k nulls last
