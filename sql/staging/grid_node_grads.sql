-- one row per (run_id, grid_i, grid_j, node): ∂ pointwise loss / ∂on_node for the full network (F10)
create or replace view grid_node_grads as
with grid as (
    select
        run_id,
        grid_i,
        grid_j,
        x0,
        x1,
        node_grad
    from input_grid
),

long as (
    select
        run_id,
        grid_i,
        grid_j,
        x0,
        x1,
        unnest(range(0, len(node_grad))) as node,
        unnest(node_grad) as node_grad
    from grid
),

final as (
    select * from long
)

select * from final
