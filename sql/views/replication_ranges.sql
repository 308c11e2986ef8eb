-- one row: the headline numbers of replication_summary as ranges over every trained network (lowest
-- and highest), for the numbers the replication table gives without a yes/no verdict, with how many
-- networks there are and the most helpful node of each (in run order); and the decay of the path
-- correlation under one rule (decay_comparison): the first insignificant k of the exact curves with
-- the runs' number of paths, and the numbers of paths for which the exact curve of every network
-- gives the study's range (the highest of the networks' lowest n to the lowest of their highest n;
-- null when no one n does it for every network)
create or replace view replication_ranges as
with summary as (
    select * from replication_summary
),

decay as (
    select * from decay_comparison
),

decay_ranges as (
    select
        max(n_paths) as n_paths,
        min(decay_length_exact) as min_decay_length_exact,
        max(decay_length_exact) as max_decay_length_exact,
        max(min_paths_study) as min_paths_study_every,
        min(max_paths_study) as max_paths_study_every
    from decay
),

ranges as (
    select
        count(*) as n_runs,
        max(hidden) as hidden,
        max(map_k) as map_k,
        min(decay_length) as min_decay_length,
        max(decay_length) as max_decay_length,
        min(n_bias_like) as min_n_bias_like,
        max(n_bias_like) as max_n_bias_like,
        min(best_loss_map_k) as min_best_loss_map_k,
        max(best_loss_map_k) as max_best_loss_map_k,
        min(mean_loss_rises) as min_mean_loss_rises,
        max(mean_loss_rises) as max_mean_loss_rises,
        min(spearman_shapley_mean_grad_sampled) as min_spearman_mean_grad_sampled,
        max(spearman_shapley_mean_grad_sampled) as max_spearman_mean_grad_sampled,
        min(spearman_shapley_knockout) as min_spearman_knockout,
        max(spearman_shapley_knockout) as max_spearman_knockout,
        min(spearman_shapley_grad_full) as min_spearman_grad_full,
        max(spearman_shapley_grad_full) as max_spearman_grad_full,
        list(top_node order by run_id) as top_nodes
    from summary
),

final as (
    select
        r.*,
        d.n_paths,
        d.min_decay_length_exact,
        d.max_decay_length_exact,
        case when d.min_paths_study_every <= d.max_paths_study_every then d.min_paths_study_every end
            as min_paths_study_every,
        case when d.min_paths_study_every <= d.max_paths_study_every then d.max_paths_study_every end
            as max_paths_study_every
    from ranges as r
    cross join decay_ranges as d
)

select * from final
