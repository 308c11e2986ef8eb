-- one row per (run, node): the test loss with only that node off, and with only that node on
create or replace view single_knockouts as
with landmarks as (
    select * from mask_landmarks
),

hidden as (
    select run_id, hidden, (1::bigint << hidden) - 1 as full_mask from runs
),

nodes as (
    select
        run_id,
        full_mask,
        unnest(range(hidden)) as node
    from hidden
),

final as (
    select
        n.run_id,
        n.node,
        only_off.loss as loss_only_off,
        only_on.loss as loss_only_on,
        all_on.loss as loss_all_on,
        all_off.loss as loss_all_off,
        only_off.loss - all_on.loss as knockout_effect
    from nodes as n
    left join landmarks as only_off
        on only_off.run_id = n.run_id and only_off.mask = xor(n.full_mask, 1::bigint << n.node)
    left join landmarks as only_on
        on only_on.run_id = n.run_id and only_on.mask = 1::bigint << n.node
    left join landmarks as all_on
        on all_on.run_id = n.run_id and all_on.mask = n.full_mask
    left join landmarks as all_off
        on all_off.run_id = n.run_id and all_off.mask = 0
)

select * from final
order by run_id, node
