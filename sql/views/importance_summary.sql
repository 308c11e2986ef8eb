-- one row per run: the importance scores in a few numbers — the three nodes with the most negative
-- Shapley value (the most helpful; ties go to the lower node), the Shapley values' sum beside
-- loss(all on) − loss(all off) that it must equal, how many nodes raise the loss on average
-- (positive Shapley value) and how many of those act as biases, and which cheap score (mean gradient
-- over the study's masks, gradient of the full network, single knockout) ranks the nodes most like
-- the Shapley value (Spearman ρ)
create or replace view importance_summary as
with shapley as (
    select run_id, node, shapley from shapley_values
),

directions as (
    select run_id, node, bias_like from node_directions
),

best as (
    select run_id, k, best_loss from best_subnetworks
),

hidden as (
    select run_id, hidden from runs
),

rank_corr as (
    select run_id, score_b as score, spearman from importance_rank_corr where score_a = 'shapley'
),

-- the scores that need no more than a backward pass or N + 1 forward passes
cheap as (
    select * from (values ('mean_grad_sampled'), ('grad_full'), ('knockout_effect')) as t(score)
),

ranked as (
    select
        s.run_id,
        s.node,
        s.shapley,
        d.bias_like,
        row_number() over (partition by s.run_id order by s.shapley, s.node) as position
    from shapley as s
    left join directions as d using (run_id, node)
),

nodes as (
    select
        run_id,
        list(node order by position) filter (where position <= 3) as top3_nodes,
        sum(shapley) as shapley_sum,
        count(*) filter (where shapley > 0) as n_raise_loss,
        count(*) filter (where shapley > 0 and bias_like) as n_raise_loss_bias_like,
        -- null where bias-like is not defined (deeper networks: node_directions)
        case when count(bias_like) > 0 then count(*) filter (where bias_like) end as n_bias_like
    from ranked
    group by run_id
),

best_cheap as (
    select
        r.run_id,
        r.score as best_cheap_score,
        r.spearman as best_cheap_spearman
    from rank_corr as r
    join cheap using (score)
    where r.spearman is not null and isfinite(r.spearman)
    qualify row_number() over (partition by r.run_id order by r.spearman desc, r.score) = 1
),

final as (
    select
        n.run_id,
        n.top3_nodes,
        n.shapley_sum,
        full_net.best_loss - empty.best_loss as loss_all_on_minus_all_off,
        n.n_raise_loss,
        n.n_raise_loss_bias_like,
        n.n_bias_like,
        c.best_cheap_score,
        c.best_cheap_spearman
    from nodes as n
    join hidden as h using (run_id)
    left join best as full_net on full_net.run_id = n.run_id and full_net.k = h.hidden
    left join best as empty on empty.run_id = n.run_id and empty.k = 0
    left join best_cheap as c on c.run_id = n.run_id
)

select * from final
order by run_id
