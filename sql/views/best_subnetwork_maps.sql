-- one row per (run, k, grid point) for the map sizes of map_sizes (4, 6 and 8 nodes on), one hidden layer of ReLUs only (no rows for deeper networks: they store no per-unit contributions): p(outside)
-- over the input grid of the best subnetwork with k nodes (best_subnetworks.best_mask), from the
-- stored logit contributions: logit = logit_bias + Σ over the mask's nodes of contrib_i,
-- p_outside = 1 / (1 + e^−logit)
create or replace view best_subnetwork_maps as
with best as (
    select b.run_id, b.k, b.best_mask, b.best_loss
    from best_subnetworks as b
    join map_sizes as m using (run_id, k)
),

grid as (
    select run_id, grid_i, grid_j, x0, x1, contrib from input_grid
),

bias as (
    select run_id, logit_bias::double as logit_bias from runs
),

node_contribs as (
    select
        run_id,
        grid_i,
        grid_j,
        generate_subscripts(contrib, 1) - 1 as node,
        unnest(contrib)::double as contrib
    from grid
),

logits as (
    select
        b.run_id,
        b.k,
        c.grid_i,
        c.grid_j,
        coalesce(sum(c.contrib) filter (where ((b.best_mask >> c.node) & 1) = 1), 0) as contrib_sum
    from best as b
    join node_contribs as c on c.run_id = b.run_id
    group by b.run_id, b.k, c.grid_i, c.grid_j
),

final as (
    select
        l.run_id,
        l.k,
        b.best_mask as mask,
        b.best_loss,
        l.grid_i,
        l.grid_j,
        g.x0,
        g.x1,
        1 / (1 + exp(-(z.logit_bias + l.contrib_sum))) as p_outside
    from logits as l
    join best as b using (run_id, k)
    join bias as z using (run_id)
    join grid as g using (run_id, grid_i, grid_j)
)

select * from final
order by run_id, k, grid_j, grid_i
