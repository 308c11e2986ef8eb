-- one row per (run, k): correlation of log loss between each mask with k nodes on and its
-- complement (the study's F9 surprise), over all masks; the row with k null pools every mask
create or replace table complement_pairs as
with sizes as (
    select
        run_id,
        n_on,
        n,
        sum_log_loss as sx,
        sum_log_loss_complement as sy,
        sum_log_loss2 as sxx,
        sum_log_loss_complement2 as syy,
        sum_log_loss_x_complement as sxy
    from summary_by_size
),

-- per size and over all sizes (the grouping sets), population co-moments from the sums
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
    from sizes
    group by grouping sets ((run_id, n_on), (run_id))
),

final as (
    select
        run_id,
        k,
        n as n_masks,
        corr_of(sxy / n - (sx / n) * (sy / n), sxx / n - pow(sx / n, 2), syy / n - pow(sy / n, 2)) as corr,
        sxy / n - (sx / n) * (sy / n) as cov
    from pooled
)

select * from final
order by run_id, k nulls last
