-- one row per (run, keep_prob, node, node_on): a node's gradients split by whether it is on (F6, F7)
create or replace view node_split_stats as
with node_grads as (
    select * from sample_node_grads
),

final as (
    select
        run_id,
        keep_prob,
        node,
        node_on,
        count(*) as n,
        avg(grad) as mean_grad,
        stddev_pop(grad) as std_grad,
        avg(grad_log) as mean_grad_log,
        stddev_pop(grad_log) as std_grad_log
    from node_grads
    group by run_id, keep_prob, node, node_on
)

select * from final
order by run_id, keep_prob, node, node_on
