-- one row per run whose data has a label boundary (the circle, xor's axes): where the full network's
-- pointwise loss lies inside the training square [−1, 1]² (F11) — the share of the summed loss over
-- the input grid's points within band_width of the boundary, beside the share of the square's grid
-- points that band covers
create or replace view boundary_loss as
with grid as (
    select run_id, x0, x1, loss::double as loss from input_grid
    where abs(x0) <= 1 and abs(x1) <= 1
),

runs_ as (
    select run_id, boundary, radius from runs
    where boundary in ('circle', 'axes')
),

-- "near the boundary": within this distance of it, in input units
band as (
    select 0.2 as band_width
),

marked as (
    select
        g.run_id,
        g.loss,
        case r.boundary
            when 'circle' then abs(sqrt(g.x0 * g.x0 + g.x1 * g.x1) - r.radius)
            else least(abs(g.x0), abs(g.x1))  -- the axes
        end < band.band_width as in_band
    from grid as g
    join runs_ as r using (run_id)
    cross join band
),

final as (
    select
        m.run_id,
        any_value(band.band_width) as band_width,
        count(*) as n_points,
        sum(m.loss) filter (where m.in_band) / nullif(sum(m.loss), 0) as share_loss_in_band,
        avg(m.in_band::integer) as share_area_in_band
    from marked as m
    cross join band
    group by m.run_id
)

select * from final
order by run_id
