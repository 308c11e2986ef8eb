-- one row per (run, node) of the first hidden layer only (a one-layer notion): the unit's input weights as a direction, and whether it acts as a
-- bias (its ReLU is active on the whole training square, so it never cuts the square: the study's
-- nodes "ignoring their input"). Deeper networks: layer 1's units when layer 1 is masked (node = its
-- bit), with w_out_diff and bias_like null (neither is defined past one layer of ReLUs); none otherwise.
create or replace view node_directions as
with w as (
    select
        run_id,
        -- the first hidden layer and the output layer, under either naming (store/README.md)
        case when tensor in ('hidden.weight', 'layers.0.weight') then 'first.weight'
             when tensor in ('hidden.bias', 'layers.0.bias') then 'first.bias'
             else tensor end as tensor,
        row,
        col,
        value
    from weights
),

one_layer as (
    select run_id, coalesce(len(layer_sizes) = 1 and activation = 'relu', true) as flat
    from runs
    where coalesce(list_contains(mask_layers, 1), true)
),

units as (
    select
        run_id,
        row as node,
        max(value) filter (where tensor = 'first.weight' and col = 0)::double as w0,
        max(value) filter (where tensor = 'first.weight' and col = 1)::double as w1,
        max(value) filter (where tensor = 'first.bias')::double as bias
    from w
    where tensor in ('first.weight', 'first.bias')
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
        case when f.flat then u.bias - abs(u.w0) - abs(u.w1) > 0 end as bias_like
    from units as u
    join one_layer as f using (run_id)
    left join out_w as o using (run_id, node)
)

select * from final
order by run_id, node
