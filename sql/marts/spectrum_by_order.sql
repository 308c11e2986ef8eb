-- one row per (run, quantity, order): the Walsh–Fourier energy of loss or log loss over all 2^N masks
-- (each equally likely) in the coefficients of order k = 1 … N, and its share of the variance: k = 1
-- is what is additive in the nodes, k = 2 pairwise, and so on
create or replace table spectrum_by_order as
with spectrum as (
    select * from summary_spectrum
),

variance as (
    select
        run_id,
        quantity,
        sum(energy) filter (where "order" >= 1) as variance
    from spectrum
    group by run_id, quantity
),

final as (
    select
        s.run_id,
        s.quantity,
        s."order",
        s.n_coefficients,
        s.energy,
        s.energy / nullif(v.variance, 0) as share
    from spectrum as s
    join variance as v using (run_id, quantity)
    where s."order" >= 1
)

select * from final
order by run_id, quantity, "order"
