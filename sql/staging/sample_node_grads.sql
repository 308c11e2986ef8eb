-- one row per (run, keep_prob, sample, node): the mask gradient of one node in one sampled mask
create or replace view sample_node_grads as
with samples as (
    select * from mask_samples
),

per_node as (
    select
        run_id,
        keep_prob,
        sample_id,
        mask,
        loss,
        generate_subscripts(grad, 1) - 1 as node,
        unnest(grad) as grad
    from samples
),

final as (
    select
        run_id,
        keep_prob,
        sample_id,
        mask,
        node,
        ((mask >> node) & 1)::integer as node_on,
        grad,
        -- ∂ln(loss)/∂on_i = (∂loss/∂on_i) / loss
        grad / loss as grad_log
    from per_node
)

select * from final
