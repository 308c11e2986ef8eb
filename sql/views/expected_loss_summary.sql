-- one row per run: the exact expected loss against the study's sampled means — at how many of the
-- sampled keep probabilities the sampled mean loss (and the sampled mean log loss) lies within 2
-- standard errors of the exact one, the
-- largest gap between them, how closely the samples pin the mean down (± 2 standard errors at the
-- widest p), and where on the grid of p the exact E[loss] is highest, beside the loss of the empty
-- network (output biases only)
create or replace view expected_loss_summary as
with compared as (
    select * from sampled_vs_exact
),

moments as (
    select run_id, keep_prob, mean_loss from exact_moments
),

best as (
    select run_id, k, best_loss from best_subnetworks
),

sampling as (
    select
        run_id,
        count(*) as n_keep_probs,
        count(*) filter (where abs(z_mean_loss) < 2) as n_within_two_se,
        count(*) filter (where abs(z_mean_log_loss) < 2) as n_within_two_se_log_loss,
        max(abs(mean_loss_sampled - mean_loss_exact)) as largest_mean_loss_gap,
        min(n) as n_masks,
        2 * max(std_loss_exact / sqrt(n)) as mean_loss_two_se
    from compared
    group by run_id
),

peaks as (
    select
        run_id,
        keep_prob as peak_keep_prob,
        mean_loss as peak_mean_loss
    from moments
    qualify row_number() over (partition by run_id order by mean_loss desc, keep_prob) = 1
),

final as (
    select
        p.run_id,
        s.n_keep_probs,
        s.n_within_two_se,
        s.n_within_two_se_log_loss,
        s.largest_mean_loss_gap,
        s.n_masks,
        s.mean_loss_two_se,
        p.peak_keep_prob,
        p.peak_mean_loss,
        b.best_loss as empty_loss
    from peaks as p
    left join sampling as s using (run_id)
    left join best as b on b.run_id = p.run_id and b.k = 0
)

select * from final
order by run_id
