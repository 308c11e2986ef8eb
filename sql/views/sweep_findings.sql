-- one row per (finding, dataset, activation, depth, n_units): how many networks of that kind (a
-- sweep's seeds) show each of the study's findings, judged from run_summary by one rule each —
-- right_skew: the loss is skewed right at p = ½ (F2); log_normal: ln(loss) is less skewed than the
-- loss at p = ½ (F3, "log-normal is a good approximation"); sanity: the sanity ratio lies within
-- 0.8 … 1.25 (the study's 0.4751 / 0.4434 = 1.07, "reasonably close"); decay: the exact path
-- correlation is insignificant within the study's 6 flips (F9, study_reference decay_flips_high);
-- complement: a mask's log loss correlates positively with its complement's (F9); bias_like: some
-- neurons act as biases (F10; one hidden layer of ReLUs only, null otherwise). n_judged counts the
-- networks where the rule's inputs exist.
create or replace view sweep_findings as
with limits as (
    select value as decay_flips from study_reference where key = 'decay_flips_high'
),

judged as (
    select
        s.run_id, s.dataset, s.activation, s.depth, s.n_units,
        s.skew_loss_half > 0 as right_skew,
        abs(s.skew_log_loss_half) < abs(s.skew_loss_half) as log_normal,
        s.sanity_ratio between 0.8 and 1.25 as sanity,
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
