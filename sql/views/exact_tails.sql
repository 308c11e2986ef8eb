-- one row per (run, keep_prob, quantity) of loss, log_loss and grad (pooled over nodes): the shape of
-- the exact distribution over all 2^N masks, a mask with k nodes on weighing p^k (1 − p)^(N − k), by
-- one yardstick for every quantity and p — excess kurtosis (exact_shape), and the share of the
-- probability more than tail_sigmas standard deviations from the mean (exact_moments) against a
-- normal's share (study_reference); a histogram bin (exhaustive_histogram, 0.002 wide) counts as
-- beyond when its mean value is. tails: 'heavier' than a normal's when both measures are above a
-- normal's (excess kurtosis > 0, share > the normal's), 'lighter' when both are below, else
-- 'mixed'; near_normal: |excess kurtosis| < near_normal_kurtosis
create or replace view exact_tails as
with histogram as (
    select run_id, quantity, n_on, n, mean_value from exhaustive_histogram
    where quantity in ('loss', 'log_loss', 'grad')
),

moments as (
    select * from exact_moments
),

shape as (
    select * from exact_shape
),

hidden as (
    select run_id, hidden from runs
),

reference as (
    select
        max(value) filter (where key = 'tail_sigmas') as tail_sigmas,
        max(value) filter (where key = 'normal_tail_share') as normal_tail_share,
        max(value) filter (where key = 'near_normal_kurtosis') as near_normal_kurtosis
    from study_reference
),

-- the exact mean, standard deviation and excess kurtosis of each quantity at each p, long
stats as (
    select run_id, keep_prob, 'loss' as quantity, m.mean_loss as mean, m.std_loss as std, s.kurt_loss as kurtosis
    from moments as m join shape as s using (run_id, keep_prob)
    union all
    select run_id, keep_prob, 'log_loss', m.mean_log_loss, m.std_log_loss, s.kurt_log_loss
    from moments as m join shape as s using (run_id, keep_prob)
    union all
    select run_id, keep_prob, 'grad', m.mean_grad, m.std_grad, s.kurt_grad
    from moments as m join shape as s using (run_id, keep_prob)
),

-- one pass over the histogram per (run, p, quantity), so a filter on keep_prob or quantity reaches it
shares as (
    select
        s.run_id,
        s.keep_prob,
        s.quantity,
        any_value(s.mean) as mean,
        any_value(s.std) as std,
        any_value(s.kurtosis) as kurtosis,
        coalesce(sum(g.n * pow(s.keep_prob, g.n_on) * pow(1 - s.keep_prob, h.hidden - g.n_on))
            filter (where abs(g.mean_value - s.mean) > r.tail_sigmas * s.std), 0)
            / sum(g.n * pow(s.keep_prob, g.n_on) * pow(1 - s.keep_prob, h.hidden - g.n_on)) as tail_share
    from stats as s
    join hidden as h using (run_id)
    join histogram as g on g.run_id = s.run_id and g.quantity = s.quantity
    cross join reference as r
    where s.std > 0
    group by s.run_id, s.keep_prob, s.quantity
),

final as (
    select
        t.run_id,
        t.keep_prob,
        t.quantity,
        t.mean,
        t.std,
        t.kurtosis,
        t.tail_share,
        r.tail_sigmas,
        r.normal_tail_share,
        case
            when t.kurtosis > 0 and t.tail_share > r.normal_tail_share then 'heavier'
            when t.kurtosis < 0 and t.tail_share < r.normal_tail_share then 'lighter'
            else 'mixed'
        end as tails,
        abs(t.kurtosis) < r.near_normal_kurtosis as near_normal,
        r.near_normal_kurtosis
    from shares as t
    cross join reference as r
)

select * from final
order by run_id, keep_prob, quantity
