-- one row per run: complement_pairs in a few numbers — the correlation of a mask's log loss with its
-- complement's over all masks pooled, and the lowest and highest correlation among the sizes with at
-- least three masks, each with its size folded to k ≤ N/2 (sizes k and N − k hold the same pairs)
create or replace view complement_summary as
with pairs as (
    select * from complement_pairs
),

hidden as (
    select run_id, hidden from runs
),

sizes as (
    select
        p.run_id,
        least(p.k, h.hidden - p.k) as k,
        p.corr
    from pairs as p
    join hidden as h using (run_id)
    where p.k is not null and p.n_masks >= 3 and isfinite(p.corr)
),

ranked as (
    select
        *,
        row_number() over (partition by run_id order by corr, k) as lowest_rank,
        row_number() over (partition by run_id order by corr desc, k) as highest_rank
    from sizes
),

extremes as (
    select
        run_id,
        any_value(corr) filter (where lowest_rank = 1) as lowest_corr,
        any_value(k) filter (where lowest_rank = 1) as lowest_k,
        any_value(corr) filter (where highest_rank = 1) as highest_corr,
        any_value(k) filter (where highest_rank = 1) as highest_k
    from ranked
    group by run_id
),

final as (
    select
        p.run_id,
        p.n_masks,
        p.corr as pooled_corr,
        e.lowest_corr,
        e.lowest_k,
        e.highest_corr,
        e.highest_k
    from pairs as p
    left join extremes as e using (run_id)
    where p.k is null
)

select * from final
order by run_id
