-- one row per (run, mask) over all masks: how unbalanced the mask's cutting nodes are
-- (mask_imbalance) and how many are on, beside the mask's log loss; computed when queried
create or replace view mask_balance as
with masks as (
    select run_id, mask, n_on, log_loss::double as log_loss from mask_exhaustive
),

cutters as (
    select * from cutter_directions
),

with_bits as (
    select
        m.*,
        cutter_bits(m.mask, c.nodes) as bits,
        c.unit_x,
        c.unit_y
    from masks as m
    left join cutters as c using (run_id)
),

final as (
    select
        run_id,
        mask,
        n_on,
        coalesce(list_sum(bits), 0)::integer as n_cutters_on,
        mask_imbalance(bits, unit_x, unit_y) as imbalance,
        log_loss
    from with_bits
)

select * from final
