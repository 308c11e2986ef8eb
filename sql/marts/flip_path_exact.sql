-- one row per (run, k): the exact covariance and correlation of log loss between a uniformly random
-- mask and the mask k flips away (a uniformly random set of k nodes flipped) — what F8/F9 estimate
-- from sampled flip paths, whose step 0 and step k are exactly such a pair. From the spectrum:
-- cov(k) = Σ_{j ≥ 1} E_j · K_k(j) / C(N, k), with E_j the log loss's Walsh–Fourier energy of order j
-- and K_k(j) = Σ_i (−1)^i C(j, i) C(N − j, k − i) the Krawtchouk polynomial; corr(k) = cov(k) / cov(0)
create or replace table flip_path_exact as
with energy as (
    select run_id, "order" as j, energy from summary_spectrum where quantity = 'log_loss' and "order" >= 1
),

hidden as (
    select run_id, hidden from runs
),

steps as (
    select run_id, hidden, unnest(range(hidden + 1)) as k from hidden
),

krawtchouk as (
    select
        s.run_id,
        s.k,
        e.j,
        e.energy,
        s.hidden,
        sum(pow(-1, i) * binomial(e.j, i) * binomial(s.hidden - e.j, s.k - i)) as kj
    from steps as s
    join energy as e using (run_id)
    cross join (select unnest(range(0, 63)) as i) as terms
    where terms.i <= s.k
    group by s.run_id, s.k, e.j, e.energy, s.hidden
),

covariances as (
    select
        run_id,
        k,
        sum(energy * kj) / any_value(binomial(hidden, k)) as cov
    from krawtchouk
    group by run_id, k
),

final as (
    select
        c.run_id,
        c.k,
        c.cov,
        c.cov / nullif(z.cov, 0) as corr
    from covariances as c
    join covariances as z on z.run_id = c.run_id and z.k = 0
)

select * from final
order by run_id, k
