-- one row per (run, node): five ways to score how much a neuron matters, each with its rank (1 = the
-- node that lowers the loss most; ties share the mean of their ranks). Exact, over all 2^N masks:
-- shapley, banzhaf, mean_grad_exact (∂loss/∂on_i averaged over every mask, i.e. at p = ½). Cheap:
-- mean_grad_sampled (the same over the study's sampled masks at the keep_prob nearest ½),
-- grad_full (the gradient of the full network: one backward pass), knockout_effect (loss with only
-- this node off minus with all on: N + 1 forward passes). Negative shapley, banzhaf and gradients
-- and positive knockout_effect mean the node helps.
create or replace table importance_scores as
with shapley as (
    select * from shapley_values
),

banzhaf as (
    select * from banzhaf_values
),

knockouts as (
    select * from single_knockouts
),

sampled as (
    select * from sample_node_grads
),

landmarks as (
    select run_id, mask, grad from mask_landmarks
),

node_sums as (
    select * from exhaustive_node_sums
),

hidden as (
    select run_id, hidden, (1::bigint << hidden) - 1 as full_mask from runs
),

half_prob as (
    select run_id, keep_prob from keep_prob_roles where is_nearest_half
),

mean_grad_sampled as (
    select
        s.run_id,
        s.node,
        avg(s.grad) as mean_grad_sampled
    from sampled as s
    join half_prob as h using (run_id, keep_prob)
    group by s.run_id, s.node
),

mean_grad_exact as (
    select
        run_id,
        node,
        sum(sum_grad) / sum(n) as mean_grad_exact
    from node_sums
    group by run_id, node
),

grad_full as (
    select
        l.run_id,
        generate_subscripts(l.grad, 1) - 1 as node,
        unnest(l.grad)::double as grad_full
    from landmarks as l
    join hidden as h on h.run_id = l.run_id and l.mask = h.full_mask
),

scores as (
    select
        k.run_id,
        k.node,
        s.shapley,
        b.banzhaf,
        e.mean_grad_exact,
        g.mean_grad_sampled,
        f.grad_full,
        k.knockout_effect::double as knockout_effect
    from knockouts as k
    left join shapley as s using (run_id, node)
    left join banzhaf as b using (run_id, node)
    left join mean_grad_exact as e using (run_id, node)
    left join mean_grad_sampled as g using (run_id, node)
    left join grad_full as f using (run_id, node)
),

-- mid-ranks: the lowest rank of the value's ties plus the highest, halved (ascending, so the most
-- negative score, the most helpful node, is 1; knockout_effect is ranked on its negative)
final as (
    select
        *,
        (rank() over (partition by run_id order by shapley)
            + count(*) over (partition by run_id) + 1
            - rank() over (partition by run_id order by shapley desc)) / 2 as rank_shapley,
        (rank() over (partition by run_id order by banzhaf)
            + count(*) over (partition by run_id) + 1
            - rank() over (partition by run_id order by banzhaf desc)) / 2 as rank_banzhaf,
        (rank() over (partition by run_id order by mean_grad_exact)
            + count(*) over (partition by run_id) + 1
            - rank() over (partition by run_id order by mean_grad_exact desc)) / 2 as rank_mean_grad_exact,
        (rank() over (partition by run_id order by mean_grad_sampled)
            + count(*) over (partition by run_id) + 1
            - rank() over (partition by run_id order by mean_grad_sampled desc)) / 2 as rank_mean_grad_sampled,
        (rank() over (partition by run_id order by grad_full)
            + count(*) over (partition by run_id) + 1
            - rank() over (partition by run_id order by grad_full desc)) / 2 as rank_grad_full,
        (rank() over (partition by run_id order by -knockout_effect)
            + count(*) over (partition by run_id) + 1
            - rank() over (partition by run_id order by -knockout_effect desc)) / 2 as rank_knockout_effect
    from scores
)

select * from final
order by run_id, node
