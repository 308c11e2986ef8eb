"""F5: the density of ∂ln(loss)/∂on_i pooled over masks and nodes, where the study saw a trough at 0."""

from __future__ import annotations

import altair as alt

from reports import density_charts, fmt, theme
from reports.sections import Section

QUERIES = {
    "grads": "select keep_prob, grad_log from sample_node_grads where run_id = $run",
    "trough": "select * from grad_log_trough where run_id = $run order by keep_prob",
    "stats": "select keep_prob, std_grad_log from grad_stats where run_id = $run order by keep_prob",
}


def chart(ctx) -> alt.LayerChart:
    curves = density_charts.curves(ctx.wh.run_frame(QUERIES["grads"]), "grad_log", ctx.kernel_width)
    return alt.layer(density_charts.density_chart(curves, ctx.p_colour(), theme.GRAD_LOG), density_charts.zero_rule())


def trough_verdict(troughs: int, n: int) -> str:
    """The study saw a trough at 0: whether this run's densities have one, at `troughs` of `n` keep
    probabilities."""
    return ("a trough at 0 at every p, as in the study" if troughs == n and n > 1
            else "a trough at 0, as in the study" if troughs == n
            else "no trough at 0, unlike the study" if troughs == 0
            else f"a trough at 0 for {troughs} of the {n} keep probabilities")


def caption(ctx) -> str:
    trough = ctx.wh.run_frame(QUERIES["trough"])
    parts = [f"{fmt.fixed(r['density_at_zero'], 2)} (peaks {fmt.fixed(r['peak_below_zero'], 2)} and "
             f"{fmt.fixed(r['peak_above_zero'], 2)})" for r in trough.iter_rows(named=True)]
    verdict = trough_verdict(int(trough["has_trough"].sum()), trough.height)
    return (
        f"Density of ∂ln(loss)/∂on_i = (∂loss/∂on_i)/loss, pooled over masks and nodes; the dashed rule marks 0. "
        f"The density at 0 is {fmt.join(parts)} for p = {fmt.probs(trough['keep_prob'])}: {verdict}."
        + density_charts.kernel_note(ctx, ctx.wh.run_frame(QUERIES["stats"])["std_grad_log"].to_list())
    )


def section(ctx) -> Section:
    return Section("f5", "F5 Gradient of the log loss", caption(ctx), chart(ctx))
