-- one row per (run, node, node_on, n_on): the number of masks of that size with that node on or off,
-- their summed loss (what Shapley and Banzhaf values weigh) and their summed gradient of that node
create or replace table exhaustive_node_sums as
with nodes as (
    select * from summary_by_node
),

final as (
    select
        run_id,
        node,
        node_on,
        n_on,
        n,
        sum_loss,
        sum_grad
    from nodes
)

select * from final
order by run_id, node, node_on, n_on
