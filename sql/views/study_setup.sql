-- one row per run: whether the run evaluated the study's own test points and sampled masks — the
-- same keep probabilities and masks per p, and the same numpy seeds (keys 'study_test_seed',
-- 'study_test_points' and 'study_mask_seed' of study_reference; null, "not known", until those rows
-- exist) — read from the run's configuration
create or replace view study_setup as
with runs_ as (
    select
        run_id,
        json_extract(config, '$.test_seed')::bigint as test_seed,
        json_extract(config, '$.test_points')::bigint as test_points,
        json_extract(config, '$.mask_seed')::bigint as mask_seed,
        json_extract(config, '$.samples_per_prob')::bigint as samples_per_prob
    from runs
),

roles as (
    select * from keep_prob_roles
),

reference as (
    select key, keep_prob, value from study_reference
),

study as (
    select
        count(*) filter (where key = 'study_keep_prob') as n_keep_probs,
        max(value) filter (where key = 'study_samples_per_prob')::bigint as samples_per_prob,
        max(value) filter (where key = 'study_test_seed')::bigint as test_seed,
        max(value) filter (where key = 'study_test_points')::bigint as test_points,
        max(value) filter (where key = 'study_mask_seed')::bigint as mask_seed
    from reference
),

probs as (
    select
        run_id,
        count(*) as n_keep_probs,
        count(*) filter (where in_study) as n_study_keep_probs
    from roles
    group by run_id
),

final as (
    select
        r.run_id,
        p.n_keep_probs = s.n_keep_probs and p.n_study_keep_probs = s.n_keep_probs as same_keep_probs,
        r.samples_per_prob = s.samples_per_prob as same_samples_per_prob,
        r.test_seed = s.test_seed and r.test_points = s.test_points as same_test_points,
        r.mask_seed = s.mask_seed as same_mask_seed,
        s.samples_per_prob as study_samples_per_prob,
        s.n_keep_probs * s.samples_per_prob as study_masks
    from runs_ as r
    left join probs as p using (run_id)
    cross join study as s
)

select * from final
order by run_id
