-- one row per (run, k): how log loss k flips from the start, and k flips before the end, co-varies
-- with the start and the end (F9); k = N is the mask against its complement
create or replace view flip_path_decay as
with cov as (
    select * from flip_path_cov
),

hidden as (
    select run_id, hidden from runs
),

final as (
    select
        s.run_id,
        s.j as k,
        s.cov as cov_from_start,
        e.cov as cov_from_end,
        s.corr as corr_from_start,
        e.corr as corr_from_end
    from cov as s
    join hidden as h on h.run_id = s.run_id
    join cov as e on e.run_id = s.run_id and e.i = h.hidden and e.j = h.hidden - s.j
    where s.i = 0
)

select * from final
order by run_id, k
