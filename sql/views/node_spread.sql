-- one row per (run, keep_prob, node): the spread of ∂ln(loss)/∂on_i over the sampled masks, node on
-- and off together (F7), as a sample standard deviation, with its rank among the nodes (1 = widest;
-- ties go to the lower node)
create or replace view node_spread as
with node_grads as (
    select run_id, keep_prob, node, grad_log from sample_node_grads
),

spread as (
    select
        run_id,
        keep_prob,
        node,
        count(*) as n,
        stddev_samp(grad_log) as std_grad_log
    from node_grads
    group by run_id, keep_prob, node
),

final as (
    select
        *,
        row_number() over (partition by run_id, keep_prob order by std_grad_log desc, node) as widest_rank,
        row_number() over (partition by run_id, keep_prob order by std_grad_log, node) as narrowest_rank
    from spread
)

select * from final
order by run_id, keep_prob, node
