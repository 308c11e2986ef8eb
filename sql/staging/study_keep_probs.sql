-- one row: the study's three keep probabilities (study_reference) as its lowest, middle and highest
-- p — the pair of its sanity check and the p where every mask is equally likely
create or replace view study_keep_probs as
with probs as (
    select keep_prob from study_reference where key = 'study_keep_prob'
),

final as (
    select
        min(keep_prob) as p_low,
        median(keep_prob) as p_half,
        max(keep_prob) as p_high
    from probs
)

select * from final
