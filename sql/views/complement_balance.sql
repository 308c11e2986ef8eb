-- one row per (run, level): does balance explain the complement correlation? Over the masks where both
-- the mask and its complement (mask xor 2^N − 1) have a cutting node on, x = the mask's imbalance (as
-- mask_imbalance: the length of the mean unit input-weight direction of its cutting nodes that are
-- on), x̄ = its complement's, y and ȳ their log losses, each measured from the mean of its group —
-- level 'size' groups masks by their number of nodes on, 'size_and_cutters' by that and their number
-- of cutting nodes on (one cutter alone is always fully unbalanced). corr_imbalance = corr(x, x̄): do
-- balanced masks have balanced complements; corr_imbalance_log_loss = corr(x, y); corr_log_loss =
-- corr(y, ȳ), the complement correlation over these masks; partial_log_loss = corr(y, ȳ) once x and
-- x̄ are accounted for (the partial correlation given both: what is left of the complement correlation
-- after a linear fit of each log loss on both imbalances); share_remaining = partial_log_loss /
-- corr_log_loss. Reads all 2^N masks of a run: query it for one run
create or replace view complement_balance as
with masks as (
    select run_id, mask, n_on, log_loss::double as log_loss from mask_exhaustive
),

cutters as (
    select run_id, node, unit_x, unit_y from node_directions where not bias_like
),

hidden as (
    select run_id, hidden, hidden // 2 as low_bits from runs
),

-- the summed unit directions and the count of all cutting nodes: a complement's cutters are the rest
totals as (
    select
        run_id,
        sum(unit_x) as ux,
        sum(unit_y) as uy,
        count(*) as n_cutters
    from cutters
    group by run_id
),

-- a mask's cutter sums are those of its low bits plus those of its high bits: one small table of every
-- pattern of each half, looked up by the mask's halves (2 · 2^(N/2) rows instead of a list per mask)
patterns as (
    select run_id, 'low' as half, 0 as shift, unnest(range(1::bigint << low_bits)) as pattern from hidden
    union all
    select run_id, 'high', low_bits, unnest(range(1::bigint << (hidden - low_bits))) from hidden
),

halves as (
    select
        p.run_id,
        p.half,
        p.pattern,
        coalesce(sum(c.unit_x), 0) as sx,
        coalesce(sum(c.unit_y), 0) as sy,
        count(c.node) as n_on
    from patterns as p
    left join cutters as c
        on c.run_id = p.run_id
        and c.node >= p.shift
        and ((p.pattern >> (c.node - p.shift)) & 1) = 1
    group by p.run_id, p.half, p.pattern
),

split as (
    select
        m.*,
        xor(m.mask, (1::bigint << h.hidden) - 1) as complement,
        m.mask & ((1::bigint << h.low_bits) - 1) as low,
        m.mask >> h.low_bits as high
    from masks as m
    join hidden as h using (run_id)
),

sums as (
    select
        m.run_id,
        m.mask,
        m.n_on,
        m.log_loss,
        m.complement,
        lo.sx + hi.sx as sx,
        lo.sy + hi.sy as sy,
        lo.n_on + hi.n_on as n_cutters_on
    from split as m
    join halves as lo on lo.run_id = m.run_id and lo.half = 'low' and lo.pattern = m.low
    join halves as hi on hi.run_id = m.run_id and hi.half = 'high' and hi.pattern = m.high
),

pairs as (
    select
        s.run_id,
        s.n_on,
        s.n_cutters_on,
        sqrt(s.sx * s.sx + s.sy * s.sy) / s.n_cutters_on as x,
        sqrt(pow(t.ux - s.sx, 2) + pow(t.uy - s.sy, 2)) / (t.n_cutters - s.n_cutters_on) as xc,
        s.log_loss as y,
        c.log_loss as yc
    from sums as s
    join totals as t using (run_id)
    join masks as c on c.run_id = s.run_id and c.mask = s.complement
    where s.n_cutters_on > 0 and s.n_cutters_on < t.n_cutters
),

-- sums per (size, cutter count); a size's sums are the sums of its groups
groups as (
    select
        run_id,
        n_on,
        n_cutters_on,
        count(*) as n,
        sum(x) as sx,
        sum(xc) as sxc,
        sum(y) as sy,
        sum(yc) as syc,
        sum(x * x) as sxx,
        sum(xc * xc) as sxcxc,
        sum(y * y) as syy,
        sum(yc * yc) as sycyc,
        sum(x * xc) as sxxc,
        sum(y * yc) as syyc,
        sum(x * y) as sxy,
        sum(x * yc) as sxyc,
        sum(xc * y) as sxcy,
        sum(xc * yc) as sxcyc
    from pairs
    group by run_id, n_on, n_cutters_on
),

levels as (
    select 'size_and_cutters' as level, * exclude (n_cutters_on) from groups
    union all
    select
        'size',
        run_id,
        n_on,
        sum(n),
        sum(sx),
        sum(sxc),
        sum(sy),
        sum(syc),
        sum(sxx),
        sum(sxcxc),
        sum(syy),
        sum(sycyc),
        sum(sxxc),
        sum(syyc),
        sum(sxy),
        sum(sxyc),
        sum(sxcy),
        sum(sxcyc)
    from groups
    group by run_id, n_on
),

-- Σ (a − ā)(b − b̄) over a group = Σab − Σa Σb / n; summed over groups it measures every mask from its
-- own group's mean
co_moments as (
    select
        level,
        run_id,
        sum(n)::bigint as n_masks,
        sum(sxx - sx * sx / n) as c_x_x,
        sum(sxcxc - sxc * sxc / n) as c_xc_xc,
        sum(syy - sy * sy / n) as c_y_y,
        sum(sycyc - syc * syc / n) as c_yc_yc,
        sum(sxxc - sx * sxc / n) as c_x_xc,
        sum(syyc - sy * syc / n) as c_y_yc,
        sum(sxy - sx * sy / n) as c_x_y,
        sum(sxyc - sx * syc / n) as c_x_yc,
        sum(sxcy - sxc * sy / n) as c_xc_y,
        sum(sxcyc - sxc * syc / n) as c_xc_yc
    from levels
    group by level, run_id
),

-- corr_of: a sum of squares that rounds below 0 is no spread, and |r| = 1 leaves nothing to hold fixed
correlations as (
    select
        level,
        run_id,
        n_masks,
        corr_of(c_x_xc, c_x_x, c_xc_xc) as r_x_xc,
        corr_of(c_y_yc, c_y_y, c_yc_yc) as r_y_yc,
        corr_of(c_x_y, c_x_x, c_y_y) as r_x_y,
        corr_of(c_x_yc, c_x_x, c_yc_yc) as r_x_yc,
        corr_of(c_xc_y, c_xc_xc, c_y_y) as r_xc_y,
        corr_of(c_xc_yc, c_xc_xc, c_yc_yc) as r_xc_yc
    from co_moments
),

-- partial correlations by the recursion r_ab·S∪{z} = (r_ab·S − r_az·S r_bz·S) / √((1 − r_az·S²)(1 − r_bz·S²)):
-- first given x, then given x̄ as well
given_x as (
    select
        *,
        corr_of(r_y_yc - r_x_y * r_x_yc, 1 - r_x_y * r_x_y, 1 - r_x_yc * r_x_yc) as r_y_yc_x,
        corr_of(r_xc_y - r_x_xc * r_x_y, 1 - r_x_xc * r_x_xc, 1 - r_x_y * r_x_y) as r_xc_y_x,
        corr_of(r_xc_yc - r_x_xc * r_x_yc, 1 - r_x_xc * r_x_xc, 1 - r_x_yc * r_x_yc) as r_xc_yc_x
    from correlations
),

given_both as (
    select
        *,
        corr_of(r_y_yc_x - r_xc_y_x * r_xc_yc_x, 1 - r_xc_y_x * r_xc_y_x, 1 - r_xc_yc_x * r_xc_yc_x) as r_y_yc_x_xc
    from given_x
),

final as (
    select
        run_id,
        level,
        n_masks,
        r_x_xc as corr_imbalance,
        r_x_y as corr_imbalance_log_loss,
        r_y_yc as corr_log_loss,
        r_y_yc_x_xc as partial_log_loss,
        r_y_yc_x_xc / nullif(r_y_yc, 0) as share_remaining
    from given_both
)

select * from final
order by run_id, level
