-- one row per run: the balance conjecture in three numbers — the correlation of imbalance with log loss
-- over all masks with a cutting node (pooled: "fewer nodes, more loss" and "fewer nodes, more
-- imbalance" inflate it), within sizes (both measured from the mean of the masks with as many nodes
-- on), and within sizes and cutter counts (from the mean of the masks with as many nodes on and as
-- many cutting nodes on, since one cutter alone is always fully unbalanced); and in how many sizes
-- (with a varying imbalance, as balance_conjecture.imbalance_varies) the correlation is positive, and
-- its lowest and highest value over those sizes
create or replace view balance_summary as
-- sums per (size, cutter count) come from balance_groups; every coarser grouping is a roll-up of these
with groups as (
    select * from balance_groups
),

sizes as (
    select
        run_id,
        n_on,
        sum(n)::bigint as n,
        sum(sx) as sx,
        sum(sy) as sy,
        sum(sxx) as sxx,
        sum(syy) as syy,
        sum(sxy) as sxy
    from groups
    group by run_id, n_on
),

-- Σ (x − x̄)(y − ȳ) over a group = Σxy − Σx Σy / n; summed over groups it measures every mask
-- from its own group's mean
co_moments as (
    select run_id, 'group' as level, sxy - sx * sy / n as cxy, sxx - sx * sx / n as cxx, syy - sy * sy / n as cyy
    from groups
    union all
    select run_id, 'size' as level, sxy - sx * sy / n, sxx - sx * sx / n, syy - sy * sy / n
    from sizes
    union all
    select run_id, 'pooled' as level, sum(sxy) - sum(sx) * sum(sy) / sum(n), sum(sxx) - sum(sx) * sum(sx) / sum(n),
        sum(syy) - sum(sy) * sum(sy) / sum(n)
    from sizes
    group by run_id
),

correlations as (
    select
        run_id,
        corr_of(sum(cxy) filter (where level = 'pooled'), sum(cxx) filter (where level = 'pooled'),
            sum(cyy) filter (where level = 'pooled')) as corr_pooled,
        corr_of(sum(cxy) filter (where level = 'size'), sum(cxx) filter (where level = 'size'),
            sum(cyy) filter (where level = 'size')) as corr_within_size,
        corr_of(sum(cxy) filter (where level = 'group'), sum(cxx) filter (where level = 'group'),
            sum(cyy) filter (where level = 'group')) as corr_within_size_and_cutters
    from co_moments
    group by run_id
),

-- a size counts when its masks' imbalance varies (one cutter alone is always 1; with all nodes on
-- there is one mask), so its correlation means something
per_size as (
    select
        run_id,
        n_on,
        corr_of(sxy - sx * sy / n, sxx - sx * sx / n, syy - sy * sy / n) as corr
    from sizes
    where n >= 3 and (sxx - sx * sx / n) / n > 1e-12
),

size_counts as (
    select
        run_id,
        count(*) as n_sizes,
        count(*) filter (where corr > 0) as n_sizes_positive,
        min(corr) as min_corr_by_size,
        max(corr) as max_corr_by_size
    from per_size
    group by run_id
),

final as (
    select
        c.run_id,
        (select sum(n) from sizes as s where s.run_id = c.run_id)::bigint as n_masks,
        c.corr_pooled,
        c.corr_within_size,
        c.corr_within_size_and_cutters,
        z.n_sizes,
        z.n_sizes_positive,
        z.min_corr_by_size,
        z.max_corr_by_size
    from correlations as c
    left join size_counts as z using (run_id)
)

select * from final
order by run_id
