-- one row per (run, node): the hidden unit's input weights as a direction, and whether it acts as a
-- bias (its ReLU is active on the whole training square, so it never cuts the square: the study's
-- nodes "ignoring their input")
create or replace view node_directions as
with w as (
    select * from weights
),

units as (
    select
        run_id,
        row as node,
        max(value) filter (where tensor = 'hidden.weight' and col = 0)::double as w0,
        max(value) filter (where tensor = 'hidden.weight' and col = 1)::double as w1,
        max(value) filter (where tensor = 'hidden.bias')::double as bias
    from w
    where tensor in ('hidden.weight', 'hidden.bias')
    group by run_id, row
),

out_w as (
    select
        run_id,
        col as node,
        (max(value) filter (where row = 1) - max(value) filter (where row = 0))::double as w_out_diff
    from w
    where tensor = 'output.weight'
    group by run_id, col
),

final as (
    select
        u.run_id,
        u.node,
        u.w0,
        u.w1,
        u.bias,
        o.w_out_diff,
        sqrt(u.w0 * u.w0 + u.w1 * u.w1) as weight_norm,
        u.w0 / nullif(sqrt(u.w0 * u.w0 + u.w1 * u.w1), 0) as unit_x,
        u.w1 / nullif(sqrt(u.w0 * u.w0 + u.w1 * u.w1), 0) as unit_y,
        degrees(atan2(u.w1, u.w0)) as angle_deg,
        u.bias - abs(u.w0) - abs(u.w1) > 0 as bias_like
    from units as u
    join out_w as o using (run_id, node)
)

select * from final
order by run_id, node
