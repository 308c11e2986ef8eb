-- one row per run: best_subnetworks in a few numbers — the full network's loss, the best network with
-- one node fewer (which node is off, and its loss relative to the full network's), and the sizes k at
-- which the best loss is higher than with one node fewer
create or replace view size_summary as
with best as (
    select run_id, k, best_mask, best_loss from best_subnetworks
),

hidden as (
    select run_id, hidden from runs
),

steps as (
    select
        run_id,
        k,
        best_loss,
        lag(best_loss) over (partition by run_id order by k) as previous_best
    from best
),

rises as (
    select
        run_id,
        list(k order by k) filter (where best_loss > previous_best) as rising_sizes
    from steps
    group by run_id
),

final as (
    select
        h.run_id,
        full_net.best_loss as full_loss,
        list_filter(range(h.hidden), i -> ((one_less.best_mask >> i) & 1) = 0)[1] as one_less_node_off,
        one_less.best_loss as one_less_loss,
        one_less.best_loss / full_net.best_loss - 1 as one_less_change,
        coalesce(r.rising_sizes, []) as rising_sizes
    from hidden as h
    left join best as full_net on full_net.run_id = h.run_id and full_net.k = h.hidden
    left join best as one_less on one_less.run_id = h.run_id and one_less.k = h.hidden - 1
    left join rises as r on r.run_id = h.run_id
)

select * from final
order by run_id
