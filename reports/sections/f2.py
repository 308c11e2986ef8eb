"""F2: the density of the test loss over the sampled masks at each keep probability, with a grey rule
at the full network's loss."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import density_charts, fmt, theme
from reports.sections import Section
from reports.vldata import inline

QUERIES = {
    "samples": "select keep_prob, loss from mask_samples where run_id = $run order by keep_prob, sample_id",
    "stats": """
        select s.keep_prob, s.n, s.mean_loss, s.std_loss, s.all_on_count, h.skew_loss
        from loss_stats as s
        join sample_shape as h using (run_id, keep_prob)
        where s.run_id = $run
        order by s.keep_prob
    """,
}


def chart(ctx) -> alt.LayerChart:
    curves = density_charts.curves(ctx.wh.run_frame(QUERIES["samples"]), "loss", ctx.kernel_width)
    full = float(ctx.run["test_loss"])
    rule = alt.Chart(inline(pl.DataFrame({"x": [full], "label": [f"full network {full:.3f}"]})))
    return alt.layer(
        density_charts.density_chart(curves, ctx.p_colour(), theme.LOSS),
        rule.mark_rule(color=theme.FULL_NETWORK_GREY, strokeWidth=1.5).encode(x="x:Q"),
        rule.mark_text(align="left", dx=4, dy=-6, color=theme.FULL_NETWORK_GREY, fontSize=11).encode(
            x="x:Q", y=alt.value(8), text="label:N"
        ),
    )


def no_spread(n: int, what: str) -> str:
    """Why a sample's skewness does not exist: it needs values that differ."""
    return "only one mask per p" if n <= 1 else f"every sampled mask has the same {what}"


def skew_text(keep_probs, skews, ns, what: str, label: str = "Skewness", verdict: bool = True) -> str:
    """The skewness per p and (with `verdict`) what it says of the tail; where it does not exist (one
    mask, or all alike), in words."""
    defined = [(p, v) for p, v in zip(keep_probs, skews) if v is not None]
    missing = [(p, n) for p, v, n in zip(keep_probs, skews, ns) if v is None]
    if not missing:
        shape = ("a long right tail, as the study saw" if all(v > 0 for v in skews)
                 else "not right-skewed at every p, unlike the study's curves")
        return (f"{label} {fmt.join(fmt.signed(v) for v in skews)} (for p = {fmt.probs(keep_probs)})"
                + (f": {shape}." if verdict else "."))
    reasons = sorted({no_spread(n, what) for _, n in missing})
    text = (f"{label} is not defined at p = {fmt.probs(p for p, _ in missing)} "
            f"({'; '.join(reasons)}: nothing spreads, so there is no tail to measure)")
    if defined:
        text += f"; at p = {fmt.probs(p for p, _ in defined)} it is {fmt.join(fmt.signed(v) for _, v in defined)}"
    return text + "."


def caption(ctx) -> str:
    stats = {r["keep_prob"]: r for r in ctx.wh.run_frame(QUERIES["stats"]).iter_rows(named=True)}
    low, high = stats[ctx.p_low], stats[ctx.p_high]
    skews = [stats[p]["skew_loss"] for p in ctx.keep_probs]
    means = [stats[p]["mean_loss"] for p in sorted(stats)]
    steps = [b - a for a, b in zip(means, means[1:])]
    if len(stats) > 1 and not (all(d < 0 for d in steps) or all(d > 0 for d in steps)):
        trend = (f"The mean loss is not monotone in p: {fmt.join(fmt.fixed(m) for m in means)} at "
                 f"p = {fmt.probs(sorted(stats))}")
    elif len(stats) > 1:
        falls = low["mean_loss"] > high["mean_loss"]
        trend = (("Fewer neurons mean more loss: the mean falls" if falls
                  else "Here fewer neurons do not mean more loss: the mean rises")
                 + f" from {fmt.fixed(low['mean_loss'])} at p = {fmt.prob(ctx.p_low)} to "
                   f"{fmt.fixed(high['mean_loss'])} at p = {fmt.prob(ctx.p_high)}")
    else:
        trend = (f"With one keep probability there is no trend over p to see; the mean loss at "
                 f"p = {fmt.prob(ctx.p_high)} is {fmt.fixed(high['mean_loss'])}")
    skewness = skew_text(ctx.keep_probs, skews, [stats[p]["n"] for p in ctx.keep_probs], "loss")
    return (
        f"Density of the test loss over the {fmt.plural(high['n'], 'mask')} sampled at each keep probability p (Gaussian "
        f"kernel of width {ctx.kernel_width:g}); the grey rule is the full network's loss, "
        f"{fmt.fixed(ctx.run['test_loss'])}. {trend}, and {high['all_on_count']} of the p = "
        f"{fmt.prob(ctx.p_high)} masks {'keeps' if high['all_on_count'] == 1 else 'keep'} every neuron. "
        f"{skewness}"
        + density_charts.kernel_note(ctx, [stats[p]["std_loss"] for p in ctx.keep_probs])
    )


def section(ctx) -> Section:
    return Section("f2", "F2 Probability density of the loss", caption(ctx), chart(ctx))
