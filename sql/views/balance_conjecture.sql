-- one row per (run, k): correlation of a mask's imbalance with its log loss among masks with k nodes
-- on (within one size, so "more nodes" does not confound it); the row with k null pools all masks.
-- imbalance_varies: the size has at least three masks and their imbalance is not constant (a mask whose
-- one cutting node is on is always fully unbalanced), so its correlation means something
create or replace view balance_conjecture as
with groups as (
    select * from balance_groups
),

pooled as (
    select
        run_id,
        n_on as k,
        sum(n)::bigint as n,
        sum(sx) as sx,
        sum(sy) as sy,
        sum(sxx) as sxx,
        sum(syy) as syy,
        sum(sxy) as sxy
    from groups
    group by grouping sets ((run_id, n_on), (run_id))
),

final as (
    select
        run_id,
        k,
        n as n_masks,
        sx / n as mean_imbalance,
        n >= 3 and (sxx - sx * sx / n) / n > 1e-12 as imbalance_varies,
        corr_of(sxy - sx * sy / n, sxx - sx * sx / n, syy - sy * sy / n) as corr_imbalance_log_loss
    from pooled
)

select * from final
order by run_id, k nulls last
