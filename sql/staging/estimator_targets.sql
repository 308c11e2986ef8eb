-- one row: what "an estimator has found the ranking" means in the estimator benchmark — Spearman ρ
-- with the exact values of at least rho_target, and the top_k nodes that lower the loss most all found
create or replace view estimator_targets as
with final as (
    select
        0.95::double as rho_target,
        3 as top_k
)

select * from final
