-- one row per (run, keep_prob): gradient and log-loss gradient pooled over masks and nodes (F4, F5, T2)
-- std is the population standard deviation (the best-fit normal of the study's F4)
create or replace view grad_stats as
with node_grads as (
    select * from sample_node_grads
),

final as (
    select
        run_id,
        keep_prob,
        count(*) as n,
        avg(grad) as mean_grad,
        stddev_pop(grad) as std_grad,
        avg(grad_log) as mean_grad_log,
        stddev_pop(grad_log) as std_grad_log
    from node_grads
    group by run_id, keep_prob
)

select * from final
order by run_id, keep_prob
