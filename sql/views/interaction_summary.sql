-- one row per run: how the nodes work together, in a few numbers — the strongest synergy (the most
-- negative pairwise Shapley interaction: the pair lowers the loss more together than apart) and the
-- strongest redundancy (the most positive), each with its pair (i < j); the share of the variance over
-- all masks that is additive in the nodes (order 1) and pairwise (order 2), and what is left to order 3
-- and above, for loss and for log loss (spectrum_by_order); and the largest order-3 Möbius term
create or replace view interaction_summary as
with interactions as (
    select run_id, i, j, value from shapley_interactions where i < j
),

spectrum as (
    select run_id, quantity, "order", share from spectrum_by_order
),

terms as (
    select run_id, "order", nodes, value, rank_in_order from mobius_terms
),

synergy as (
    select run_id, i as synergy_i, j as synergy_j, value as synergy_value
    from interactions
    qualify row_number() over (partition by run_id order by value, i, j) = 1
),

redundancy as (
    select run_id, i as redundancy_i, j as redundancy_j, value as redundancy_value
    from interactions
    qualify row_number() over (partition by run_id order by value desc, i, j) = 1
),

pair_counts as (
    select
        run_id,
        count(*) as n_pairs,
        count(*) filter (where value < 0) as n_synergy_pairs
    from interactions
    group by run_id
),

shares as (
    select
        run_id,
        sum(share) filter (where quantity = 'loss' and "order" = 1) as additive_share_loss,
        sum(share) filter (where quantity = 'loss' and "order" = 2) as pairwise_share_loss,
        sum(share) filter (where quantity = 'loss' and "order" >= 3) as higher_share_loss,
        sum(share) filter (where quantity = 'log_loss' and "order" = 1) as additive_share_log_loss,
        sum(share) filter (where quantity = 'log_loss' and "order" = 2) as pairwise_share_log_loss,
        sum(share) filter (where quantity = 'log_loss' and "order" >= 3) as higher_share_log_loss
    from spectrum
    group by run_id
),

order_three as (
    select run_id, nodes as top_order3_nodes, value as top_order3_value
    from terms
    where "order" = 3 and rank_in_order = 1
),

final as (
    select
        s.run_id,
        c.n_pairs,
        c.n_synergy_pairs,
        y.synergy_i,
        y.synergy_j,
        y.synergy_value,
        r.redundancy_i,
        r.redundancy_j,
        r.redundancy_value,
        s.additive_share_loss,
        s.pairwise_share_loss,
        s.higher_share_loss,
        s.additive_share_log_loss,
        s.pairwise_share_log_loss,
        s.higher_share_log_loss,
        t.top_order3_nodes,
        t.top_order3_value
    from shares as s
    left join pair_counts as c using (run_id)
    left join synergy as y using (run_id)
    left join redundancy as r using (run_id)
    left join order_three as t using (run_id)
)

select * from final
order by run_id
