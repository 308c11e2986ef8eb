-- one row per run: the single knockouts in a few numbers — for how many nodes switching that node
-- alone off raises the test loss, the nodes whose knockout raises it most and least (ties go to the
-- lower node), and the loss with every node on and with every node off
create or replace view knockout_summary as
with knockouts as (
    select * from knockout_ranking where loss_only_off is not null
),

ranked as (
    select
        *,
        row_number() over (partition by run_id order by knockout_effect desc, node) as most_rank,
        row_number() over (partition by run_id order by knockout_effect, node) as least_rank
    from knockouts
),

final as (
    select
        run_id,
        count(*) as n_nodes,
        count(*) filter (where knockout_effect > 0) as n_raise_loss,
        any_value(node) filter (where most_rank = 1) as most_harmful_node,
        any_value(knockout_effect) filter (where most_rank = 1) as most_harmful_effect,
        any_value(node) filter (where least_rank = 1) as least_harmful_node,
        any_value(knockout_effect) filter (where least_rank = 1) as least_harmful_effect,
        any_value(loss_all_on) as loss_all_on,
        any_value(loss_all_off) as loss_all_off
    from ranked
    group by run_id
)

select * from final
order by run_id
