-- one row per (run, k): correlation of log loss between each mask with k nodes on and its
-- complement (the study's F9 surprise), over all masks; the row with k null pools every mask
create or replace view complement_pairs as
with masks as (
    select run_id, mask, n_on, log_loss::double as log_loss from mask_exhaustive
),

full_masks as (
    select run_id, (1::bigint << hidden) - 1 as full_mask from runs
),

-- the complement as a column of its own, so the next join is a hash join on (run_id, mask)
-- (joined on run_id alone and filtered afterwards, it would compare every pair of masks of a run)
with_complement as (
    select
        m.run_id,
        m.n_on,
        m.log_loss,
        xor(m.mask, f.full_mask) as complement_mask
    from masks as m
    join full_masks as f using (run_id)
),

pairs as (
    select
        m.run_id,
        m.n_on as k,
        m.log_loss,
        c.log_loss as log_loss_complement
    from with_complement as m
    join masks as c on c.run_id = m.run_id and c.mask = m.complement_mask
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
