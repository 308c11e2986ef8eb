-- one row per (statistic, dataset, activation, depth, n_units): a run_summary statistic over the
-- networks of that kind (a sweep's seeds) — how many have it, their mean, standard deviation (sample,
-- null for one network), lowest and highest. The statistics are run_summary's scalar columns.
create or replace view sweep_trends as
with long as (
    unpivot (
        select
            run_id, dataset, activation, depth, n_units,
            test_loss, test_accuracy, exact_mean_loss_half, exact_mean_log_loss_half,
            skew_loss_half, skew_log_loss_half, sanity_ratio, complement_corr,
            decay_length_exact::double as decay_length_exact, shapley_top3_share, shapley_gini,
            smallest_k_within_10pct::double as smallest_k_within_10pct,
            (smallest_k_within_10pct / n_units)::double as smallest_share_within_10pct,
            n_bias_like::double as n_bias_like
        from run_summary
    )
    on columns(* exclude (run_id, dataset, activation, depth, n_units))
    into name statistic value value
),

final as (
    select
        statistic,
        dataset,
        activation,
        depth,
        n_units,
        count(value) as n_networks,
        avg(value) as mean,
        stddev_samp(value) as std,
        min(value) as lowest,
        max(value) as highest
    from long
    group by statistic, dataset, activation, depth, n_units
)

select * from final
order by statistic, dataset, activation, depth, n_units
