-- one row per (run, keep_prob, node_on): ∂ln(loss)/∂on_i pooled over the sampled masks and nodes,
-- split by whether node i is off (0) or on (1) in the mask (F6) — its mean, and the share of cases
-- where it is negative, so that more of the node would lower the loss
create or replace view on_off_split as
with node_grads as (
    select run_id, keep_prob, node_on, grad_log from sample_node_grads
),

final as (
    select
        run_id,
        keep_prob,
        node_on,
        count(*) as n,
        avg(grad_log) as mean_grad_log,
        avg((grad_log < 0)::integer) as share_negative
    from node_grads
    group by run_id, keep_prob, node_on
)

select * from final
order by run_id, keep_prob, node_on
