-- one row per (run, node): the exact Shapley value of the node in the game "value = test loss of
-- the subnetwork" (the empty network keeps only the output biases); negative = the node lowers the
-- loss. Σ shapley = loss(all on) − loss(all off).
create or replace table shapley_values as
with sums as (
    select * from exhaustive_node_sums
),

hidden as (
    select run_id, hidden from runs
),

-- a coalition S without the node, |S| = s, weighs s! (N−1−s)! / N!; the mask S ∪ {node} has
-- n_on = s + 1 and enters with +, the mask S itself with −
weighted as (
    select
        s.run_id,
        s.node,
        case when s.node_on = 1
            then exp(lgamma(s.n_on) + lgamma(h.hidden - s.n_on + 1) - lgamma(h.hidden + 1)) * s.sum_loss
            else -exp(lgamma(s.n_on + 1) + lgamma(h.hidden - s.n_on) - lgamma(h.hidden + 1)) * s.sum_loss
        end as term
    from sums as s
    join hidden as h using (run_id)
),

final as (
    select
        run_id,
        node,
        sum(term) as shapley
    from weighted
    group by run_id, node
)

select * from final
order by run_id, node
