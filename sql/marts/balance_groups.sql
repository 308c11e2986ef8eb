-- one row per (run, n_on, n_cutters_on) over all masks with a cutting node on: how many masks, and
-- the sums and co-sums of their imbalance (x) and log loss (y) — every balance correlation is a
-- roll-up of these
create or replace table balance_groups as
with balance as (
    select * from mask_balance where imbalance is not null
),

final as (
    select
        run_id,
        n_on,
        n_cutters_on,
        count(*) as n,
        sum(imbalance) as sx,
        sum(log_loss) as sy,
        sum(imbalance * imbalance) as sxx,
        sum(log_loss * log_loss) as syy,
        sum(imbalance * log_loss) as sxy
    from balance
    group by run_id, n_on, n_cutters_on
)

select * from final
order by run_id, n_on, n_cutters_on
