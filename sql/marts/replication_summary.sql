-- one row per run: the headline numbers of each trained network side by side, to tell the study's
-- findings that hold for every network from the luck of one. Exact values are over all 2^N masks;
-- log-normality is judged at p = ½ (every mask equally likely): the exact skewness and excess
-- kurtosis of log loss, both 0 for a log-normal loss. The decay length is the first k at which the
-- correlation of log loss at a flip path's start with k flips on falls within noise,
-- |r| < 2/√(number of paths). The cheapest knockout is the best mask with N − 1 nodes, as a
-- relative loss increase over the full network (the study's node 14: +2%). Exact E[loss] and the
-- shape are read at the study's p values (study_reference), which the exact grid always holds. The Spearman
-- correlations say how well each cheap importance score ranks the nodes as the Shapley value does.
create or replace table replication_summary as
with runs_ as (
    select run_id, train_seed, hidden, test_loss from runs
),

moments as (
    select * from exact_moments
),

shape as (
    select * from exact_shape
),

sanity as (
    select * from sanity_check
),

decay as (
    select * from flip_path_decay
),

paths as (
    select run_id, count(distinct path_id) as n_paths from flip_paths group by run_id
),

complements as (
    select * from complement_pairs where k is null
),

directions as (
    select * from node_directions
),

shapley as (
    select * from shapley_values
),

best as (
    select * from best_subnetworks
),

balance as (
    select * from balance_summary
),

rank_corr as (
    select
        run_id,
        any_value(spearman) filter (where score_b = 'mean_grad_sampled') as spearman_shapley_mean_grad_sampled,
        any_value(spearman) filter (where score_b = 'grad_full') as spearman_shapley_grad_full,
        any_value(spearman) filter (where score_b = 'knockout_effect') as spearman_shapley_knockout
    from importance_rank_corr
    where score_a = 'shapley'
    group by run_id
),

-- the sanity check redone exactly: N · (p_high − p_low) · exact mean gradient at the p nearest ½
-- against the exact change of E[loss] between the lowest and highest sampled p
exact_sanity as (
    select
        s.run_id,
        s.scale * half.mean_grad / nullif(hi.mean_loss - lo.mean_loss, 0) as ratio
    from sanity as s
    join moments as half on half.run_id = s.run_id and half.keep_prob = s.p_half
    join moments as lo on lo.run_id = s.run_id and lo.keep_prob = s.p_low
    join moments as hi on hi.run_id = s.run_id and hi.keep_prob = s.p_high
),

-- the study's p values (study_reference): exact moments exist at each of them whatever was sampled
study_probs as (
    select p_low, p_half, p_high from study_keep_probs
),

-- the middle of the map sizes each network has room for: its best loss is a headline number
map_k as (
    select run_id, quantile_disc(k, 0.5) as k from map_sizes group by run_id
),

decay_length as (
    select
        d.run_id,
        min(d.k) filter (where abs(d.corr_from_start) < 2 / sqrt(p.n_paths)) as decay_length,
        any_value(d.corr_from_start) filter (where d.k = r.hidden) as complement_corr_paths
    from decay as d
    join paths as p using (run_id)
    join runs_ as r using (run_id)
    group by d.run_id
),

bias_like as (
    select run_id, case when count(bias_like) > 0 then count(*) filter (where bias_like) end as n_bias_like
    from directions group by run_id  -- null where bias-like is not defined (deeper networks)
),

ranked as (
    select
        run_id,
        node,
        shapley,
        row_number() over (partition by run_id order by shapley, node) as position
    from shapley
),

top_nodes as (
    select
        run_id,
        any_value(node) filter (where position = 1) as top_node,
        list(node order by position) filter (where position <= 3) as top3_nodes
    from ranked
    group by run_id
),

sizes as (
    select
        b.run_id,
        any_value(m.k) as map_k,
        any_value(b.best_loss) filter (where b.k = m.k) as best_loss_map_k,
        -- the full network is the one mask with k = N
        any_value(b.best_loss) filter (where b.k = r.hidden - 1) / any_value(f.best_loss) - 1
            as cheapest_knockout_increase
    from best as b
    join runs_ as r using (run_id)
    join best as f on f.run_id = b.run_id and f.k = r.hidden
    left join map_k as m on m.run_id = b.run_id
    group by b.run_id
),

-- "more neurons, less loss": steps of k at which the best loss rises, steps of p at which E[loss] rises
rises as (
    select
        run_id,
        count(*) filter (where best_loss > previous_best) as best_loss_rises
    from (
        select run_id, k, best_loss, lag(best_loss) over (partition by run_id order by k) as previous_best
        from best
    )
    group by run_id
),

mean_rises as (
    select
        run_id,
        count(*) filter (where mean_loss > previous_mean) as mean_loss_rises
    from (
        select
            run_id,
            keep_prob,
            mean_loss,
            lag(mean_loss) over (partition by run_id order by keep_prob) as previous_mean
        from moments
    )
    group by run_id
),

final as (
    select
        r.run_id,
        r.train_seed,
        r.hidden,
        r.test_loss,
        lo.mean_loss as exact_mean_loss_p25,
        hi.mean_loss as exact_mean_loss_p75,
        sh.skew_loss as skew_loss_p50,
        sh.skew_log_loss as skew_log_loss_p50,
        sh.kurt_log_loss as kurt_log_loss_p50,
        sh.kurt_grad as kurt_grad_p50,
        s.ratio as sanity_ratio,
        e.ratio as sanity_ratio_exact,
        d.decay_length,
        d.complement_corr_paths,
        c.corr as complement_corr,
        bl.n_bias_like,
        t.top_node,
        t.top3_nodes,
        rc.spearman_shapley_mean_grad_sampled,
        rc.spearman_shapley_grad_full,
        rc.spearman_shapley_knockout,
        z.map_k,
        z.best_loss_map_k,
        z.cheapest_knockout_increase,
        ri.best_loss_rises,
        mr.mean_loss_rises,
        ba.corr_within_size as balance_corr_within_size,
        ba.corr_within_size_and_cutters as balance_corr_within_size_and_cutters,
        ba.n_sizes as balance_n_sizes,
        ba.n_sizes_positive as balance_n_sizes_positive
    from runs_ as r
    cross join study_probs as sp
    left join moments as lo on lo.run_id = r.run_id and abs(lo.keep_prob - sp.p_low) < 1e-9
    left join moments as hi on hi.run_id = r.run_id and abs(hi.keep_prob - sp.p_high) < 1e-9
    left join shape as sh on sh.run_id = r.run_id and abs(sh.keep_prob - sp.p_half) < 1e-9
    left join sanity as s on s.run_id = r.run_id
    left join exact_sanity as e on e.run_id = r.run_id
    left join decay_length as d on d.run_id = r.run_id
    left join complements as c on c.run_id = r.run_id
    left join bias_like as bl on bl.run_id = r.run_id
    left join top_nodes as t on t.run_id = r.run_id
    left join rank_corr as rc on rc.run_id = r.run_id
    left join sizes as z on z.run_id = r.run_id
    left join rises as ri on ri.run_id = r.run_id
    left join mean_rises as mr on mr.run_id = r.run_id
    left join balance as ba on ba.run_id = r.run_id
)

select * from final
order by run_id
