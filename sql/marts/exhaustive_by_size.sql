-- one row per (run, n_on): sums over every mask with n_on nodes on, the building block of exact
-- expectations (under "each node kept with probability p" all masks of one size are equally likely);
-- gradients are pooled over the N nodes of each mask
create or replace table exhaustive_by_size as
with sizes as (
    select * from summary_by_size
),

final as (
    select
        run_id,
        n_on,
        n,
        sum_loss,
        sum_loss2,
        sum_log_loss,
        sum_log_loss2,
        sum_grad,
        sum_grad2,
        sum_grad_log,
        sum_grad_log2
    from sizes
)

select * from final
order by run_id, n_on
