-- one row per (run, node, node_on, n_on): the summed loss of every mask of that size with that
-- node on or off — what Shapley and Banzhaf values weigh
create or replace view exhaustive_node_sums as
with masks as (
    select run_id, mask, n_on, loss::double as loss from mask_exhaustive
),

nodes as (
    select run_id, unnest(range(hidden)) as node from runs
),

final as (
    select
        m.run_id,
        n.node,
        ((m.mask >> n.node) & 1)::integer as node_on,
        m.n_on,
        count(*) as n,
        sum(m.loss) as sum_loss
    from masks as m
    join nodes as n using (run_id)
    group by m.run_id, n.node, node_on, m.n_on
)

select * from final
order by run_id, node, node_on, n_on
