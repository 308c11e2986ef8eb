-- one row per run: the run's sanity check (sanity_check; null without two keep probabilities) beside
-- the study's own numbers (study_reference), which are given only when the run's lowest, middle and
-- highest p are the study's, so that both check the same thing. The study's mean gradient at its
-- middle p is its scaled gradient divided by its scale N × (p_high − p_low), with the study's N from
-- study_reference key 'study_hidden' (null until that row exists)
create or replace view sanity_vs_study as
with runs_ as (
    select run_id from runs
),

sanity as (
    select * from sanity_check
),

reference as (
    select key, keep_prob, value from study_reference
),

study_probs as (
    select p_low, p_half, p_high from study_keep_probs
),

study as (
    select
        p.p_low,
        p.p_half,
        p.p_high,
        max(r.value) filter (where r.key = 'scaled_mean_grad') as scaled_mean_grad,
        max(r.value) filter (where r.key = 'mean_loss' and abs(r.keep_prob - p.p_high) < 1e-9)
            - max(r.value) filter (where r.key = 'mean_loss' and abs(r.keep_prob - p.p_low) < 1e-9)
            as loss_difference,
        max(r.value) filter (where r.key = 'study_hidden') as hidden
    from reference as r
    cross join study_probs as p
    group by p.p_low, p.p_half, p.p_high
),

final as (
    select
        r.run_id,
        s.p_low,
        s.p_half,
        s.p_high,
        s.mean_grad_half,
        s.scale,
        s.scaled_mean_grad,
        s.loss_difference,
        s.ratio,
        abs(s.p_low - t.p_low) < 1e-9 and abs(s.p_half - t.p_half) < 1e-9 and abs(s.p_high - t.p_high) < 1e-9
            as same_probs_as_study,
        t.p_low as study_p_low,
        t.p_half as study_p_half,
        t.p_high as study_p_high,
        case when same_probs_as_study then t.scaled_mean_grad / (t.hidden * (t.p_high - t.p_low)) end
            as study_mean_grad_half,
        case when same_probs_as_study then t.hidden * (t.p_high - t.p_low) end as study_scale,
        case when same_probs_as_study then t.scaled_mean_grad end as study_scaled_mean_grad,
        case when same_probs_as_study then t.loss_difference end as study_loss_difference,
        case when same_probs_as_study then t.scaled_mean_grad / t.loss_difference end as study_ratio
    from runs_ as r
    left join sanity as s using (run_id)
    cross join study as t
)

select * from final
order by run_id
