-- one row per (run_id, node): the loss with only this node off / only this node on, ranked by harm
create or replace view knockout_ranking as
with knockouts as (
    select * from single_knockouts
),

ranked as (
    select
        run_id,
        node,
        loss_only_off,
        loss_only_on,
        loss_all_on,
        loss_all_off,
        knockout_effect,
        -- what switching this node on alone buys, starting from the empty network
        loss_all_off - loss_only_on as solo_effect,
        rank() over (partition by run_id order by loss_only_off desc) as harm_rank
    from knockouts
),

final as (
    select * from ranked
)

select * from final
