-- one row per (run, node): the exact Banzhaf value of the node (its loss change when switched on,
-- averaged over all 2^(N−1) masks of the other nodes); negative = the node lowers the loss
create or replace table banzhaf_values as
with sums as (
    select * from exhaustive_node_sums
),

hidden as (
    select run_id, hidden from runs
),

final as (
    select
        s.run_id,
        s.node,
        sum(case when s.node_on = 1 then s.sum_loss else -s.sum_loss end) / pow(2, any_value(h.hidden) - 1)
            as banzhaf
    from sums as s
    join hidden as h using (run_id)
    group by s.run_id, s.node
)

select * from final
order by run_id, node
