-- one row per (run, mask): how unbalanced the mask's cutting nodes are — the length of the mean
-- unit direction of the on nodes that are not bias-like (0 = directions cancel, 1 = all face one
-- way; null when no cutting node is on) — beside the mask's log loss
create or replace view mask_balance as
with masks as (
    select run_id, mask, n_on, log_loss::double as log_loss from mask_exhaustive
),

cutters as (
    select run_id, node, unit_x, unit_y from node_directions where not bias_like
),

summed as (
    select
        m.run_id,
        m.mask,
        count(*) as n_cutters_on,
        sum(c.unit_x) as sum_x,
        sum(c.unit_y) as sum_y
    from masks as m
    join cutters as c
        on c.run_id = m.run_id and ((m.mask >> c.node) & 1) = 1
    group by m.run_id, m.mask
),

final as (
    select
        m.run_id,
        m.mask,
        m.n_on,
        coalesce(s.n_cutters_on, 0) as n_cutters_on,
        sqrt(s.sum_x * s.sum_x + s.sum_y * s.sum_y) / s.n_cutters_on as imbalance,
        m.log_loss
    from masks as m
    left join summed as s using (run_id, mask)
)

select * from final
