-- one row per (run, score_a, score_b): Spearman's rank correlation between two of the importance
-- scores of importance_scores over the run's nodes (Pearson correlation of their mid-ranks, so ties
-- are handled); 1 = the two scores order the neurons the same way
create or replace view importance_rank_corr as
with scores as (
    select * from importance_scores
),

ranks as (
    unpivot (
        select
            run_id,
            node,
            rank_shapley as shapley,
            rank_banzhaf as banzhaf,
            rank_mean_grad_exact as mean_grad_exact,
            rank_mean_grad_sampled as mean_grad_sampled,
            rank_grad_full as grad_full,
            rank_knockout_effect as knockout_effect
        from scores
    )
    on shapley, banzhaf, mean_grad_exact, mean_grad_sampled, grad_full, knockout_effect
    into name score value node_rank
),

-- the order the scores are listed in, so each pair appears once (score_a before score_b)
score_order as (
    select * from (values
        ('shapley', 1),
        ('banzhaf', 2),
        ('mean_grad_exact', 3),
        ('mean_grad_sampled', 4),
        ('grad_full', 5),
        ('knockout_effect', 6)
    ) as t(score, position)
),

final as (
    select
        a.run_id,
        a.score as score_a,
        b.score as score_b,
        count(*) as n_nodes,
        corr(a.node_rank, b.node_rank) as spearman
    from ranks as a
    join ranks as b on b.run_id = a.run_id and b.node = a.node
    join score_order as oa on oa.score = a.score
    join score_order as ob on ob.score = b.score
    where oa.position < ob.position
    group by a.run_id, a.score, b.score, oa.position, ob.position
    order by a.run_id, oa.position, ob.position
)

select * from final
