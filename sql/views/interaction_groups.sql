-- one row per (run, pair kind), one hidden layer of ReLUs only (a one-layer notion: no rows for deeper networks): the pairwise Shapley interactions (i < j) grouped by what the two nodes
-- are (node_directions) — 'bias-like' with 'bias-like', 'cutting' with 'cutting', or 'bias-like' with
-- 'cutting' — how many such pairs, how many are synergistic (negative), and their mean, lowest and
-- highest index
create or replace view interaction_groups as
with interactions as (
    select run_id, i, j, value from shapley_interactions where i < j
),

directions as (
    select run_id, node, bias_like from node_directions where bias_like is not null
),

kinds as (
    select
        s.run_id,
        case
            when a.bias_like and b.bias_like then 'bias-like'
            when not a.bias_like and not b.bias_like then 'cutting'
            else 'bias-like with cutting'
        end as pair_kind,
        s.value
    from interactions as s
    join directions as a on a.run_id = s.run_id and a.node = s.i
    join directions as b on b.run_id = s.run_id and b.node = s.j
),

final as (
    select
        run_id,
        pair_kind,
        count(*) as n_pairs,
        count(*) filter (where value < 0) as n_synergy,
        avg(value) as mean_value,
        min(value) as min_value,
        max(value) as max_value
    from kinds
    group by run_id, pair_kind
)

select * from final
order by run_id, pair_kind
