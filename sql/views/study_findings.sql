-- one row per finding of the replication table (named by its replication_summary column): the study's
-- value of it from study_reference — a number, or a range (study_value_high), the nodes it names —
-- and the study keep probability it is read at. The sanity ratio is the study's scaled gradient over
-- its change of mean loss; the cheapest knockout's increase is its least harmful knockout's loss over
-- its full network's. Node lists come from keys 'bias_like_node' and 'least_harmful_node' (empty
-- until those rows exist)
create or replace view study_findings as
with reference as (
    select key, keep_prob, value from study_reference
),

study_probs as (
    select p_low, p_half, p_high from study_keep_probs
),

numbers as (
    select
        max(r.value) filter (where r.key = 'full_test_loss') as full_test_loss,
        max(r.value) filter (where r.key = 'mean_loss' and abs(r.keep_prob - p.p_low) < 1e-9) as mean_loss_low,
        max(r.value) filter (where r.key = 'mean_loss' and abs(r.keep_prob - p.p_high) < 1e-9) as mean_loss_high,
        max(r.value) filter (where r.key = 'scaled_mean_grad') as scaled_mean_grad,
        max(r.value) filter (where r.key = 'decay_flips_low') as decay_flips_low,
        max(r.value) filter (where r.key = 'decay_flips_high') as decay_flips_high,
        max(r.value) filter (where r.key = 'bias_like_nodes') as bias_like_nodes,
        max(r.value) filter (where r.key = 'least_harmful_loss') as least_harmful_loss,
        list(r.value::integer order by r.value) filter (where r.key = 'bias_like_node') as bias_like_node_list,
        list(r.value::integer order by r.value) filter (where r.key = 'least_harmful_node') as least_harmful_node_list
    from reference as r
    cross join study_probs as p
),

findings as (
    select 'test_loss' as finding, null::double as keep_prob, full_test_loss as study_value,
        null::double as study_value_high, null::integer[] as study_nodes
    from numbers
    union all
    select 'exact_mean_loss_p25', p.p_low, n.mean_loss_low, null, null from numbers as n cross join study_probs as p
    union all
    select 'exact_mean_loss_p75', p.p_high, n.mean_loss_high, null, null from numbers as n cross join study_probs as p
    union all
    select f.finding, p.p_half, null, null, null
    from study_probs as p
    cross join (values ('skew_loss_p50'), ('skew_log_loss_p50'), ('kurt_log_loss_p50'), ('kurt_grad_p50')) as f(finding)
    union all
    select 'sanity_ratio', null, scaled_mean_grad / (mean_loss_high - mean_loss_low), null, null from numbers
    union all
    select 'decay_length', null, decay_flips_low, decay_flips_high, null from numbers
    union all
    select 'n_bias_like', null, bias_like_nodes, null, bias_like_node_list from numbers
    union all
    select 'cheapest_knockout_increase', null, least_harmful_loss / full_test_loss - 1, null, least_harmful_node_list
    from numbers
),

final as (
    select * from findings
)

select * from final
