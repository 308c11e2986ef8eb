-- one row per (run, i, j) with i ≠ j: the exact pairwise Shapley interaction index of nodes i and j in
-- the game "value = test loss of the subnetwork", I_ij = Σ over the node sets T containing both of
-- m(T) / (|T| − 1), m the Möbius coefficients; negative = the pair lowers the loss more together than
-- apart (synergy), positive = each covers for the other (redundancy). Symmetric: both (i, j) and (j, i)
create or replace table shapley_interactions as
with pairs as (
    select run_id, i, j, value from summary_interactions
),

final as (
    select run_id, i, j, value from pairs
    union all
    select run_id, j as i, i as j, value from pairs
)

select * from final
order by run_id, i, j
