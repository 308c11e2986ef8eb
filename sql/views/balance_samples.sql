-- one row per (run, keep_prob, sample_id): the imbalance (mask_imbalance) of each of the study's sampled
-- masks beside its log loss, and its log loss relative to the mean over all masks of its size, which
-- takes out "more nodes, less loss" so a scatter shows the balance conjecture itself
create or replace view balance_samples as
with samples as (
    select run_id, keep_prob, sample_id, mask, n_on, log_loss::double as log_loss from mask_samples
),

cutters as (
    select * from cutter_directions
),

by_size as (
    select run_id, n_on, sum_log_loss / n as mean_log_loss from exhaustive_by_size
),

final as (
    select
        s.run_id,
        s.keep_prob,
        s.sample_id,
        s.mask,
        s.n_on,
        coalesce(list_sum(cutter_bits(s.mask, c.nodes)), 0)::integer as n_cutters_on,
        mask_imbalance(cutter_bits(s.mask, c.nodes), c.unit_x, c.unit_y) as imbalance,
        s.log_loss,
        s.log_loss - z.mean_log_loss as log_loss_vs_size
    from samples as s
    left join cutters as c on c.run_id = s.run_id
    join by_size as z on z.run_id = s.run_id and z.n_on = s.n_on
)

select * from final
order by run_id, keep_prob, sample_id
