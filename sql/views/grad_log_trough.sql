-- one row per (run, keep_prob): the density of ∂ln(loss)/∂on_i over the sampled masks (density_curves,
-- gradients pooled over nodes) at 0 and its highest point on either side — the study's F5 "consistent
-- trough at 0" is a density at 0 below both peaks
create or replace view grad_log_trough as
with curves as (
    select run_id, keep_prob, bin, density
    from density_curves
    where quantity = 'grad_log' and source = 'sampled'
),

final as (
    select
        run_id,
        keep_prob,
        coalesce(max(density) filter (where bin = 0), 0) as density_at_zero,
        coalesce(max(density) filter (where bin < 0), 0) as peak_below_zero,
        coalesce(max(density) filter (where bin > 0), 0) as peak_above_zero,
        coalesce(max(density) filter (where bin = 0), 0)
            < least(coalesce(max(density) filter (where bin < 0), 0), coalesce(max(density) filter (where bin > 0), 0))
            as has_trough
    from curves
    group by run_id, keep_prob
)

select * from final
order by run_id, keep_prob
