-- one row per (run, node set) of order 1 … 3: the Möbius (Harsanyi) coefficient of the set in the game
-- "value = test loss of the subnetwork" — the loss change the nodes make together beyond all their
-- subsets — with the set's nodes and its rank by |value| within its order (1 = the largest term)
create or replace table mobius_terms as
with terms as (
    select * from summary_mobius where "order" >= 1
),

final as (
    select
        run_id,
        mask,
        "order",
        list_filter(range(62), n -> ((mask >> n) & 1) = 1) as nodes,
        value,
        row_number() over (partition by run_id, "order" order by abs(value) desc, mask) as rank_in_order
    from terms
)

select * from final
order by run_id, "order", rank_in_order
