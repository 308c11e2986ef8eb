-- one row per run: the flip paths in a few numbers (F8, F9) — how many paths, the mean variance of
-- log loss along them, the covariance and correlation of a start mask with its complement, how far
-- the two decay curves (from the start, from the end) ever lie apart, the noise level of a
-- correlation over that many paths (2/√paths: ±2 standard errors of zero) and the first number of
-- flips at which the correlation with the start falls within it
create or replace view flip_path_summary as
with paths as (
    select run_id, count(distinct path_id) as n_paths from flip_paths group by run_id
),

cov as (
    select * from flip_path_cov
),

decay as (
    select * from flip_path_decay
),

hidden as (
    select run_id, hidden from runs
),

noise as (
    select
        run_id,
        n_paths,
        2 / sqrt(n_paths) as noise_level
    from paths
),

variances as (
    select run_id, avg(cov) as mean_variance from cov where i = j group by run_id
),

decays as (
    select
        d.run_id,
        max(abs(d.cov_from_start - d.cov_from_end)) as max_start_end_gap,
        min(d.k) filter (where abs(d.corr_from_start) < n.noise_level) as decay_length,
        any_value(d.cov_from_start) filter (where d.k = h.hidden) as complement_cov,
        any_value(d.corr_from_start) filter (where d.k = h.hidden) as complement_corr
    from decay as d
    join noise as n using (run_id)
    join hidden as h using (run_id)
    group by d.run_id
),

final as (
    select
        n.run_id,
        n.n_paths,
        n.noise_level,
        v.mean_variance,
        d.complement_cov,
        d.complement_corr,
        d.max_start_end_gap,
        d.decay_length
    from noise as n
    left join variances as v using (run_id)
    left join decays as d using (run_id)
)

select * from final
order by run_id
