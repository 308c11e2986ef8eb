-- one row per (run_id, quantity): a number the study quotes beside the same number for this run
create or replace view study_comparison as
with runs_ as (
    select run_id, hidden, test_loss from runs
),

loss_stats_ as (
    select * from loss_stats
),

sanity as (
    select * from sanity_check
),

ranking as (
    select * from knockout_ranking
),

samples as (
    select run_id, keep_prob, mask from mask_samples
),

-- The study's numbers (NOTES.md, F2 and F4); node 14 is the study's least harmful node.
study as (
    select * from (values
        (1, 'full-network test loss', 0.117),
        (2, 'mean loss at p = 0.25', 1.0277158),
        (3, 'mean loss at p = 0.75', 0.584365),
        (4, 'scaled mean gradient at p = 0.5 (10 × for N = 20)', -0.4751453),
        (5, 'mean loss at p = 0.75 minus at p = 0.25', -0.4433508),
        (6, 'all-on masks among the p = 0.75 samples', 5),
        (7, 'distinct masks among the p = 0.75 samples', 952),
        (8, 'loss with only node 14 off', 0.119),
        (9, 'least harmful single knockout: loss', 0.119),
        (10, 'least harmful single knockout: times among the p = 0.75 samples', 3)
    ) as t(position, quantity, study)
),

least_harmful as (
    select
        r.run_id,
        r.node,
        r.loss_only_off,
        xor((1::bigint << h.hidden) - 1, 1::bigint << r.node) as mask
    from ranking as r
    inner join runs_ as h on h.run_id = r.run_id
    qualify row_number() over (partition by r.run_id order by r.loss_only_off, r.node) = 1
),

least_harmful_count as (
    select
        l.run_id,
        count(s.mask) as times
    from least_harmful as l
    left join samples as s
        on s.run_id = l.run_id and s.keep_prob = 0.75 and s.mask = l.mask
    group by l.run_id
),

ours as (
    select r.run_id, 1 as position, r.test_loss as ours, null as note from runs_ as r
    union all
    select run_id, 2, mean_loss, null from loss_stats_ where keep_prob = 0.25
    union all
    select run_id, 3, mean_loss, null from loss_stats_ where keep_prob = 0.75
    union all
    select run_id, 4, scaled_mean_grad, 'scale ' || format('{:g}', scale) from sanity
    union all
    select run_id, 5, loss_difference, null from sanity
    union all
    select run_id, 6, all_on_count, null from loss_stats_ where keep_prob = 0.75
    union all
    select run_id, 7, distinct_masks, null from loss_stats_ where keep_prob = 0.75
    union all
    select run_id, 8, loss_only_off, 'our node 14 is a different neuron' from ranking where node = 14
    union all
    select run_id, 9, loss_only_off, 'node ' || node::varchar from least_harmful
    union all
    select run_id, 10, times, null from least_harmful_count
),

final as (
    select
        r.run_id,
        s.position,
        s.quantity,
        s.study::double as study,
        o.ours::double as ours,
        o.note
    from runs_ as r
    cross join study as s
    left join ours as o on o.run_id = r.run_id and o.position = s.position
    order by r.run_id, s.position
)

select * from final
