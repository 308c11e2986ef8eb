-- one row per (run, k ≥ 1): the correlation of log loss between a flip path's start and k flips on,
-- exactly (flip_path_exact) and over the sampled paths (flip_path_decay), with the noise rule of F9
-- turned around: k is the first number of flips at which the exact correlation falls within noise,
-- |r| < 2/√n, exactly when the number of paths n lies in [min_paths, max_paths] (n ≥ 4/m², m the
-- smallest |r| at fewer flips, and n < 4/r_k²), that is when the cut-off 2/√n lies in
-- (cut_off_low, cut_off_high]; both null when no n makes k the first (a smaller |r| comes earlier)
create or replace view flip_path_significance as
with exact as (
    select run_id, k, cov, corr from flip_path_exact
),

sampled as (
    select run_id, k, cov_from_start, corr_from_start from flip_path_decay
),

-- the smallest |r| at fewer flips than k (k = 0 is the start itself, r = 1)
earlier as (
    select
        run_id,
        k,
        cov,
        corr,
        min(abs(corr)) over (partition by run_id order by k rows between unbounded preceding and 1 preceding)
            as smallest_earlier
    from exact
),

ranges as (
    select
        run_id,
        k,
        cov,
        corr,
        abs(corr) as cut_off_low,
        smallest_earlier as cut_off_high,
        -- beyond 9·10^18 paths (|r| below ~7·10^-10, or 0) no count of paths is a number: null
        case when 4 / pow(smallest_earlier, 2) < 9e18 then ceil(4 / pow(smallest_earlier, 2))::bigint end
            as min_paths,
        -- the largest n with 2/√n > |r_k|; every n when r_k = 0 (or so small that no count reaches it)
        case when 4 / pow(corr, 2) < 9e18 then ceil(4 / pow(corr, 2))::bigint - 1 end as max_paths
    from earlier
    where k >= 1
),

final as (
    select
        r.run_id,
        r.k,
        r.cov as cov_exact,
        r.corr as corr_exact,
        s.cov_from_start as cov_sampled,
        s.corr_from_start as corr_sampled,
        case when r.max_paths is null or r.min_paths <= r.max_paths then r.min_paths end as min_paths,
        case when r.max_paths is null or r.min_paths <= r.max_paths then r.max_paths end as max_paths,
        case when r.cut_off_low < r.cut_off_high then r.cut_off_low end as cut_off_low,
        case when r.cut_off_low < r.cut_off_high then r.cut_off_high end as cut_off_high
    from ranges as r
    left join sampled as s using (run_id, k)
)

select * from final
order by run_id, k
