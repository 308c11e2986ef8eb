-- one row per run: flip_effects over all nodes — how many (mask, node) pairs, how many break a
-- convexity bound, the range over nodes of the correlation of the true effect with the on-end
-- gradient, the mean shares of pairs where each bound is tight and where the on-end gradient's sign
-- misleads, and the nodes where it misleads least and most (ties go to the lower node)
create or replace view flip_effect_summary as
with effects as (
    select * from flip_effects
),

ranked as (
    select
        *,
        row_number() over (partition by run_id order by share_misled, node) as least_rank,
        row_number() over (partition by run_id order by share_misled desc, node) as most_rank
    from effects
),

final as (
    select
        run_id,
        sum(n_pairs) as n_pairs,
        sum(bound_violations) as bound_violations,
        min(corr_grad_on) as min_corr_grad_on,
        max(corr_grad_on) as max_corr_grad_on,
        avg(share_lower_tight) as mean_share_lower_tight,
        avg(share_upper_tight) as mean_share_upper_tight,
        avg(share_misled) as mean_share_misled,
        any_value(node) filter (where least_rank = 1) as least_misled_node,
        any_value(share_misled) filter (where least_rank = 1) as least_misled_share,
        any_value(node) filter (where most_rank = 1) as most_misled_node,
        any_value(share_misled) filter (where most_rank = 1) as most_misled_share
    from ranked
    group by run_id
)

select * from final
order by run_id
