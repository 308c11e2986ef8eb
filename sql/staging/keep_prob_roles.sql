-- one row per (run, keep_prob) sampled: the role each keep probability plays in the study's figures —
-- the lowest and highest p (the sanity check's pair), the p nearest ½ (F6, F7 and the gradient of the
-- sanity check; ties go to the lower p), and whether the study sampled this p too
create or replace view keep_prob_roles as
with samples as (
    select distinct run_id, keep_prob from mask_samples
),

study_probs as (
    select keep_prob from study_reference where key = 'study_keep_prob'
),

ranked as (
    select
        run_id,
        keep_prob,
        count(*) over (partition by run_id) as n_keep_probs,
        row_number() over (partition by run_id order by keep_prob) = 1 as is_lowest,
        row_number() over (partition by run_id order by keep_prob desc) = 1 as is_highest,
        row_number() over (partition by run_id order by abs(keep_prob - 0.5), keep_prob) = 1 as is_nearest_half
    from samples
),

final as (
    select
        r.run_id,
        r.keep_prob,
        r.n_keep_probs,
        r.is_lowest,
        r.is_highest,
        r.is_nearest_half,
        exists (select 1 from study_probs as s where abs(s.keep_prob - r.keep_prob) < 1e-9) as in_study
    from ranked as r
)

select * from final
order by run_id, keep_prob
