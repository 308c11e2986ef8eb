-- one row per (run, k): the subnetwork sizes drawn as maps (study_reference's map_size rows) that the
-- run's network has room for (k ≤ N)
create or replace view map_sizes as
with sizes as (
    select value::integer as k from study_reference where key = 'map_size'
),

runs_ as (
    select run_id, hidden from runs
),

final as (
    select
        r.run_id,
        s.k
    from runs_ as r
    join sizes as s on s.k <= r.hidden
)

select * from final
order by run_id, k
