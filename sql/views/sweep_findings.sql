-- one row per (finding, dataset, activation, depth, n_units): how many networks of that kind (a
-- sweep's seeds) show each of the study's findings, judged from run_summary by one rule each —
-- right_skew: the loss is skewed right at p = ½ (F2); log_normal: ln(loss) is less skewed than the
-- loss at p = ½ (F3, "log-normal is a good approximation"); sanity: the sanity ratio lies within
-- study_reference's sanity_ratio_low … sanity_ratio_high (the study called its ratio "reasonably
-- close"); decay: the exact path
-- correlation is insignificant within the study's 6 flips (F9, study_reference decay_flips_high);
-- complement: a mask's log loss correlates positively with its complement's (F9); bias_like: some
-- neurons act as biases (F10; one hidden layer of ReLUs only, null otherwise). n_judged counts the
-- networks where the rule's inputs exist.
create or replace view sweep_findings as
with limits as (
    select
        any_value(value) filter (where key = 'decay_flips_high') as decay_flips,
        any_value(value) filter (where key = 'sanity_ratio_low') as sanity_low,
        any_value(value) filter (where key = 'sanity_ratio_high') as sanity_high
    from study_reference
),

judged as (
    select
        s.run_id, s.dataset, s.activation, s.depth, s.n_units,
        s.skew_loss_half > 0 as right_skew,
        abs(s.skew_log_loss_half) < abs(s.skew_loss_half) as log_normal,
        s.sanity_ratio between l.sanity_low and l.sanity_high as sanity,
        s.decay_length_exact <= l.decay_flips as decay,
        s.complement_corr > 0 as complement,
        s.n_bias_like > 0 as bias_like
    from run_summary as s
    cross join limits as l
),

long as (
    select * from judged
    unpivot include nulls (holds for finding in (right_skew, log_normal, sanity, decay, complement, bias_like))
),

final as (
    select
        finding,
        dataset,
        activation,
        depth,
        n_units,
        count(*) as n_networks,
        count(holds) as n_judged,
        count(*) filter (where holds) as n_holding
    from long
    group by finding, dataset, activation, depth, n_units
)

select * from final
order by finding, dataset, activation, depth, n_units
