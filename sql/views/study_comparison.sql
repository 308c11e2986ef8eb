-- one row per (run_id, quantity): a number the study quotes (study_reference) beside the same number
-- for this run. A number tied to a keep probability appears only when the run sampled that p too,
-- counts among the samples only when it drew as many masks per p as the study, and the
-- sanity-check numbers only when it sampled the study's three — then computed at the study's
-- p values, whatever other p the run sampled, so both columns measure the same thing; the labels are
-- written from the numbers' own p, never assumed
create or replace view study_comparison as
with runs_ as (
    select
        run_id,
        hidden,
        test_loss,
        json_extract(config, '$.samples_per_prob')::bigint as samples_per_prob
    from runs
),

reference as (
    select key, keep_prob, value from study_reference
),

stats as (
    select * from loss_stats
),

grads as (
    select * from grad_stats
),

roles as (
    select * from keep_prob_roles
),

ranking as (
    select * from knockout_ranking
),

samples as (
    select run_id, keep_prob, mask from mask_samples
),

-- counts among the sampled masks compare only when the run drew as many masks per p as the study
same_sample_size as (
    select r.run_id
    from runs_ as r
    where r.samples_per_prob = (select value from reference where key = 'study_samples_per_prob')
),

-- the study's sanity check: N × (highest − lowest p) × the mean gradient at the middle p, against the
-- change of mean loss from the lowest to the highest p
study_probs as (
    select p_low, p_half, p_high from study_keep_probs
),

-- the run sampled every p the study did, so it can do the study's sanity check at the study's p
study_probs_sampled as (
    select run_id
    from roles
    group by run_id
    having count(*) filter (where in_study)
        = (select count(*) from reference where key = 'study_keep_prob')
),

sanity as (
    select
        r.run_id,
        p.p_low,
        p.p_half,
        p.p_high,
        (p.p_high - p.p_low) * r.hidden as scale,
        (p.p_high - p.p_low) * r.hidden * g.mean_grad as scaled_mean_grad,
        hi.mean_loss - lo.mean_loss as loss_difference
    from study_probs_sampled as sampled
    join runs_ as r using (run_id)
    cross join study_probs as p
    join grads as g on g.run_id = r.run_id and abs(g.keep_prob - p.p_half) < 1e-9
    join stats as lo on lo.run_id = r.run_id and abs(lo.keep_prob - p.p_low) < 1e-9
    join stats as hi on hi.run_id = r.run_id and abs(hi.keep_prob - p.p_high) < 1e-9
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
        s.keep_prob,
        count(*) as times
    from least_harmful as l
    join samples as s on s.run_id = l.run_id and s.mask = l.mask
    group by l.run_id, s.keep_prob
),

per_p as (
    select
        s.run_id,
        s.keep_prob,
        s.mean_loss,
        s.all_on_count,
        s.distinct_masks,
        coalesce(c.times, 0) as least_harmful_times
    from stats as s
    left join least_harmful_count as c using (run_id, keep_prob)
),

ours as (
    select run_id, 1 as position, 'full_test_loss' as key, null::double as keep_prob,
        'full-network test loss' as quantity, test_loss as ours, null as note
    from runs_
    union all
    select run_id, 2, 'mean_loss', keep_prob, 'mean loss at p = ' || keep_prob::varchar, mean_loss, null
    from per_p
    union all
    select s.run_id, 3, 'scaled_mean_grad', s.p_half,
        format('{:g} × the mean gradient at p = {}', s.scale, s.p_half::varchar), s.scaled_mean_grad,
        format('scale N × ({} − {})', s.p_high::varchar, s.p_low::varchar)
    from sanity as s
    union all
    select s.run_id, 4, 'loss_difference', null,
        format('mean loss at p = {} minus at p = {}', s.p_high::varchar, s.p_low::varchar), s.loss_difference, null
    from sanity as s
    union all
    select run_id, 5, 'all_on_count', keep_prob, 'all-on masks among the p = ' || keep_prob::varchar || ' samples',
        all_on_count, null
    from per_p
    join same_sample_size using (run_id)
    union all
    select run_id, 6, 'distinct_masks', keep_prob, 'distinct masks among the p = ' || keep_prob::varchar || ' samples',
        distinct_masks, null
    from per_p
    join same_sample_size using (run_id)
    union all
    select run_id, 7, 'node_14_off_loss', null, 'loss with only node ' || node::varchar || ' off', loss_only_off,
        'our node ' || node::varchar || ' is a different neuron'
    from ranking
    where node = (select value from reference where key = 'least_harmful_node')
    union all
    select run_id, 8, 'least_harmful_loss', null, 'least harmful single knockout: loss', loss_only_off,
        'node ' || node::varchar
    from least_harmful
    union all
    -- two unrelated neurons (each network's own least harmful node): the count measures the draw of
    -- the masks, not the neuron, so the note gives what any one single-knockout mask is expected to get
    select p.run_id, 9, 'least_harmful_count', p.keep_prob,
        'times the mask with only the least harmful node off is among the p = ' || p.keep_prob::varchar
            || ' samples',
        p.least_harmful_times,
        format('unrelated neurons (the study''s node {}, this run''s node {}); any one such mask is expected '
            || '{} times', s.study_node::integer, l.node, printf('%.2f', r.samples_per_prob
                * pow(p.keep_prob, r.hidden - 1) * (1 - p.keep_prob)))
    from per_p as p
    join same_sample_size using (run_id)
    join runs_ as r on r.run_id = p.run_id
    join least_harmful as l on l.run_id = p.run_id
    cross join (select value as study_node from reference where key = 'least_harmful_node') as s
),

-- the reference value for the difference of mean losses is the study's two means subtracted
reference_values as (
    select key, keep_prob, value from reference
    union all
    select
        'loss_difference',
        null,
        max(value) filter (where keep_prob = (select max(keep_prob) from reference where key = 'mean_loss'))
            - max(value) filter (where keep_prob = (select min(keep_prob) from reference where key = 'mean_loss'))
    from reference
    where key = 'mean_loss'
),

final as (
    select
        o.run_id,
        row_number() over (partition by o.run_id order by o.position, o.keep_prob) as position,
        o.quantity,
        r.value::double as study,
        o.ours::double as ours,
        o.note
    from ours as o
    join reference_values as r
        on r.key = o.key
        and (r.keep_prob is null and o.keep_prob is null
            or abs(r.keep_prob - o.keep_prob) < 1e-9)
)

select * from final
order by run_id, position
