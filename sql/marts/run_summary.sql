-- one row per run (network): what it is (dataset, layers, activation, N masked units, seed) and the
-- headline statistics a sweep compares across networks — exact E[loss] and E[ln loss] and their
-- skewness at p = ½ and at every sampled p (lists in keep_probs order), the study's sanity ratio, the
-- complement correlation, the exact path-decay length, how concentrated the Shapley values are (the
-- share of Σ|φ| held by the top 3 units, and the Gini coefficient of |φ|), the best subnetwork of each
-- size against the full network and the smallest size within 10% of it, and the bias-like units
-- (one hidden layer only: null for deeper networks). Exact columns are null without --exhaustive.
create or replace table run_summary as
with nets as (
    select
        run_id,
        dataset,
        activation,
        layer_sizes,
        len(layer_sizes) as depth,
        hidden as n_units,
        train_seed,
        test_loss,
        test_accuracy
    from runs
),

half as (
    select
        m.run_id,
        m.mean_loss as exact_mean_loss_half,
        m.mean_log_loss as exact_mean_log_loss_half,
        s.skew_loss as skew_loss_half,
        s.skew_log_loss as skew_log_loss_half
    from exact_moments as m
    join exact_shape as s using (run_id, keep_prob)
    where abs(m.keep_prob - 0.5) < 1e-9
),

sampled_ps as (
    select distinct run_id, keep_prob from mask_samples
),

at_sampled as (
    select
        p.run_id,
        list(p.keep_prob order by p.keep_prob) as keep_probs,
        list(m.mean_loss order by p.keep_prob) as exact_mean_loss,
        list(m.mean_log_loss order by p.keep_prob) as exact_mean_log_loss,
        list(s.skew_loss order by p.keep_prob) as skew_loss,
        list(s.skew_log_loss order by p.keep_prob) as skew_log_loss
    from sampled_ps as p
    join exact_moments as m on m.run_id = p.run_id and abs(m.keep_prob - p.keep_prob) < 1e-9
    join exact_shape as s on s.run_id = p.run_id and abs(s.keep_prob - p.keep_prob) < 1e-9
    group by p.run_id
),

shapley_ranked as (
    select
        run_id,
        abs(shapley) as size,
        row_number() over (partition by run_id order by abs(shapley) desc, node) as rank_desc,
        row_number() over (partition by run_id order by abs(shapley), node) as rank_asc,
        count(*) over (partition by run_id) as n
    from shapley_values
),

concentration as (
    -- Gini of sizes x sorted ascending, i = 1 … n: Σ (2i − n − 1) x_i / (n Σ x)
    select
        run_id,
        sum(size) filter (where rank_desc <= 3) / nullif(sum(size), 0) as shapley_top3_share,
        sum((2 * rank_asc - n - 1) * size) / nullif(any_value(n) * sum(size), 0) as shapley_gini
    from shapley_ranked
    group by run_id
),

best as (
    select
        b.run_id,
        list(b.best_loss / r.test_loss order by b.k) as best_loss_ratio,
        min(b.k) filter (where b.best_loss <= 1.1 * r.test_loss) as smallest_k_within_10pct
    from best_subnetworks as b
    join runs as r using (run_id)
    group by b.run_id
),

bias_like as (
    select run_id, count(*) filter (where bias_like) as n_bias_like
    from node_directions
    group by run_id
),

final as (
    select
        n.run_id,
        n.dataset,
        n.activation,
        n.layer_sizes,
        n.depth,
        n.n_units,
        n.train_seed,
        n.test_loss,
        n.test_accuracy,
        h.exact_mean_loss_half,
        h.exact_mean_log_loss_half,
        h.skew_loss_half,
        h.skew_log_loss_half,
        a.keep_probs,
        a.exact_mean_loss,
        a.exact_mean_log_loss,
        a.skew_loss,
        a.skew_log_loss,
        sc.ratio as sanity_ratio,
        cs.pooled_corr as complement_corr,
        d.decay_length_exact,
        c.shapley_top3_share,
        c.shapley_gini,
        b.best_loss_ratio,
        b.smallest_k_within_10pct,
        case when n.depth = 1 and n.activation = 'relu' then coalesce(bl.n_bias_like, 0) end as n_bias_like
    from nets as n
    left join half as h using (run_id)
    left join at_sampled as a using (run_id)
    left join sanity_check as sc using (run_id)
    left join complement_summary as cs using (run_id)
    left join decay_comparison as d using (run_id)
    left join concentration as c using (run_id)
    left join best as b using (run_id)
    left join bias_like as bl using (run_id)
)

select * from final
order by run_id
