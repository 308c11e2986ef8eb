-- one row per run: the decay of the path correlation judged by one rule on every side — the first k
-- at which |r| < 2/√n, n the number of paths — for the sampled curve and for the exact curve with
-- this run's n, beside the study's "insignificant after about 5–6 flips" (study_reference
-- decay_flips_low, decay_flips_high) and what it implies: the numbers of paths n (and the cut-offs
-- 2/√n) for which the exact curve's first insignificant k is the study's low or high number, and the
-- exact correlation at those k
create or replace view decay_comparison as
with significance as (
    select * from flip_path_significance
),

summary as (
    select run_id, n_paths, noise_level, decay_length from flip_path_summary
),

reference as (
    select
        max(value) filter (where key = 'decay_flips_low')::integer as study_low,
        max(value) filter (where key = 'decay_flips_high')::integer as study_high
    from study_reference
),

exact_decay as (
    select
        s.run_id,
        min(s.k) filter (where abs(s.corr_exact) < m.noise_level) as decay_length_exact
    from significance as s
    join summary as m using (run_id)
    group by s.run_id
),

study_implied as (
    select
        s.run_id,
        any_value(s.corr_exact) filter (where s.k = r.study_low) as corr_exact_study_low,
        any_value(s.corr_exact) filter (where s.k = r.study_high) as corr_exact_study_high,
        any_value(s.min_paths) filter (where s.k = r.study_low) as min_paths_study_low,
        any_value(s.max_paths) filter (where s.k = r.study_low) as max_paths_study_low,
        any_value(s.min_paths) filter (where s.k = r.study_high) as min_paths_study_high,
        any_value(s.max_paths) filter (where s.k = r.study_high) as max_paths_study_high,
        -- the first insignificant k never falls as n grows, so the k from low to high need one range of n
        min(s.min_paths) filter (where s.k between r.study_low and r.study_high) as min_paths_study,
        max(s.max_paths) filter (where s.k between r.study_low and r.study_high) as max_paths_study,
        min(s.cut_off_low) filter (where s.k between r.study_low and r.study_high) as cut_off_study_low,
        max(s.cut_off_high) filter (where s.k between r.study_low and r.study_high) as cut_off_study_high
    from significance as s
    cross join reference as r
    group by s.run_id
),

final as (
    select
        m.run_id,
        m.n_paths,
        m.noise_level,
        m.decay_length as decay_length_sampled,
        e.decay_length_exact,
        r.study_low,
        r.study_high,
        i.corr_exact_study_low,
        i.corr_exact_study_high,
        i.min_paths_study_low,
        i.max_paths_study_low,
        i.min_paths_study_high,
        i.max_paths_study_high,
        i.min_paths_study,
        i.max_paths_study,
        i.cut_off_study_low,
        i.cut_off_study_high
    from summary as m
    cross join reference as r
    left join exact_decay as e using (run_id)
    left join study_implied as i using (run_id)
)

select * from final
order by run_id
