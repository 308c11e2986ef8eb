-- one row per run with one hidden layer of ReLUs (a one-layer notion; no row for deeper networks): the cutting (not bias-like) nodes and their unit input-weight directions as lists,
-- in node order — what a mask's imbalance is computed from (mask_imbalance)
create or replace view cutter_directions as
with directions as (
    select * from node_directions where not bias_like
),

final as (
    select
        run_id,
        list(node::bigint order by node) as nodes,
        list(unit_x order by node) as unit_x,
        list(unit_y order by node) as unit_y
    from directions
    group by run_id
)

select * from final
