-- one row per (run, n_on): sums over every mask with n_on nodes on, the building block of exact
-- expectations (under "each node kept with probability p" all masks of one size are equally likely)
create or replace view exhaustive_by_size as
with masks as (
    select
        run_id,
        n_on,
        loss::double as loss,
        log_loss::double as log_loss,
        grad::double[] as grad
    from mask_exhaustive
),

final as (
    select
        run_id,
        n_on,
        count(*) as n,
        sum(loss) as sum_loss,
        sum(loss * loss) as sum_loss2,
        sum(log_loss) as sum_log_loss,
        sum(log_loss * log_loss) as sum_log_loss2,
        -- gradients pooled over the N nodes of each mask
        sum(list_sum(grad)) as sum_grad,
        sum(list_dot_product(grad, grad)) as sum_grad2,
        sum(list_sum(grad) / loss) as sum_grad_log,
        sum(list_dot_product(grad, grad) / (loss * loss)) as sum_grad_log2
    from masks
    group by run_id, n_on
)

select * from final
order by run_id, n_on
