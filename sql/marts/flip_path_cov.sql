-- one row per (run, i, j): covariance and correlation of log loss at steps i and j of the flip paths (F8)
create or replace table flip_path_cov as
with steps as (
    select run_id, path_id, step, log_loss from flip_paths
),

pairs as (
    select
        a.run_id,
        a.step as i,
        b.step as j,
        a.log_loss as log_loss_i,
        b.log_loss as log_loss_j
    from steps as a
    join steps as b using (run_id, path_id)
),

final as (
    select
        run_id,
        i,
        j,
        covar_samp(log_loss_i, log_loss_j) as cov,
        corr(log_loss_i, log_loss_j) as corr
    from pairs
    group by run_id, i, j
)

select * from final
order by run_id, i, j
