"""Exact vs sampled: the study's densities (F2–F4) beside the exact ones over all 2^N masks, each mask
with k nodes on weighted p^k (1−p)^(N−k) (exhaustive_histogram)."""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from reports import fmt, theme
from reports.density import density_grid, density_table, gaussian_density
from reports.sections import Section
from reports.vldata import inline

# The exact curve is drawn where all but this share of the probability lies (a heavy tail of
# masks with a chance of 1e-12 would otherwise stretch the axis).
TAIL_MASS = 1e-4
# Three panels side by side fit a 1024 px window.
PANEL_WIDTH, PANEL_HEIGHT = 235, 210
SAMPLED = "sampled masks"
EXACT = "all masks, exact"
# Knockout's yardstick: a sample that misplaces less than this share of the probability shows the shape.
SMALL_GAP = 0.1
QUANTITIES = {"loss": ("loss", theme.LOSS), "log_loss": ("log loss", theme.LOG_LOSS), "grad": ("gradient", theme.GRAD)}

QUERIES = {
    "masks": "select keep_prob, loss, log_loss from mask_samples where run_id = $run",
    "grads": "select keep_prob, grad from sample_node_grads where run_id = $run",
    "histogram": """
        select quantity, n_on, n, mean_value from exhaustive_histogram
        where run_id = $run and quantity in ('loss', 'log_loss', 'grad')
    """,
    "gap": "select keep_prob, quantity, share_misplaced from sampled_exact_gap where run_id = $run order by keep_prob",
}


def exact_curve(histogram: pl.DataFrame, quantity: str, keep_prob: float, hidden: int, width: float) -> pl.DataFrame:
    """The exact density of `quantity` at p: every histogram row weighs n · p^k (1−p)^(N−k)."""
    rows = (
        histogram.filter(pl.col("quantity") == quantity)
        .with_columns((pl.col("n") * keep_prob ** pl.col("n_on") * (1 - keep_prob) ** (hidden - pl.col("n_on"))).alias("w"))
        .filter(pl.col("w") > 0)
        .sort("mean_value")
    )
    values = rows["mean_value"].to_numpy().astype(np.float64)
    weights = rows["w"].to_numpy().astype(np.float64)
    share = np.cumsum(weights) / weights.sum()
    lo = values[np.searchsorted(share, TAIL_MASS)]
    hi = values[min(np.searchsorted(share, 1 - TAIL_MASS), len(values) - 1)]
    grid = density_grid(np.array([lo, hi]), width)
    return pl.DataFrame({"x": grid, "density": gaussian_density(values, width, grid, weights=weights)})


def curves(ctx, quantity: str) -> pl.DataFrame:
    source = ctx.wh.run_frame(QUERIES["grads" if quantity == "grad" else "masks"])
    sampled = density_table(source.select("keep_prob", pl.col(quantity).alias("value")), "value", ["keep_prob"],
                            ctx.kernel_width)
    histogram = ctx.wh.run_frame(QUERIES["histogram"])
    parts = [sampled.with_columns(pl.lit(SAMPLED).alias("source"))]
    for p in ctx.keep_probs:
        parts.append(exact_curve(histogram, quantity, p, ctx.hidden, ctx.kernel_width).with_columns(
            pl.lit(p).alias("keep_prob"), pl.lit(EXACT).alias("source")))
    frame = pl.concat([part.select("keep_prob", "x", "density", "source") for part in parts])
    return frame.with_columns(pl.col("keep_prob").map_elements(theme.p_label, return_dtype=pl.String).alias("p"))


def panel(ctx, quantity: str) -> alt.LayerChart:
    dash = alt.StrokeDash(
        "source:N", title=None,
        scale=alt.Scale(domain=[SAMPLED, EXACT], range=[[1, 0], [5, 3]]),
        legend=alt.Legend(orient="bottom", symbolStrokeWidth=2, symbolSize=300, labelLimit=300),
    )
    base = alt.Chart(inline(curves(ctx, quantity).drop("keep_prob"), significant=4)).encode(
        x=alt.X("x:Q", title=QUANTITIES[quantity][1], scale=alt.Scale(zero=False, nice=False),
                axis=alt.Axis(tickCount=5)),
        y=alt.Y("density:Q", title=theme.DENSITY),
        color=ctx.p_colour(orient="bottom"),
        strokeDash=dash,
    )
    # the exact curve a little heavier, so the dashes read against the sample's wiggles
    layers = [base.transform_filter(alt.datum.source == source).mark_line(strokeWidth=stroke)
              for source, stroke in ((SAMPLED, 1.3), (EXACT, 2.2))]
    return alt.layer(*layers).properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)


def chart(ctx) -> alt.HConcatChart:
    """F2, F3, F4 again: each study curve (solid) beside the exact density at its p (dashed)."""
    return alt.hconcat(*(panel(ctx, q) for q in QUANTITIES), spacing=14).resolve_scale(color="shared",
                                                                                      strokeDash="shared")


def caption(ctx) -> str:
    gap = ctx.wh.run_frame(QUERIES["gap"])
    n = ctx.config.get("samples_per_prob")
    shares = "; ".join(
        f"{name} {fmt.join(fmt.pct(v) for v in gap.filter(pl.col('quantity') == q)['share_misplaced'])}"
        for q, (name, _) in QUANTITIES.items())
    return (
        f"Solid: the {n:,} masks sampled per p as the study did, as in F2–F4. Dashed: the exact density over all "
        f"2^{ctx.hidden} = {ctx.n_masks:,} masks, a mask with k nodes on weighted p^k (1−p)^(N−k), smoothed with "
        f"the same kernel (width {ctx.kernel_width:g}) — the curve the sampled one scatters around. Share of "
        f"probability the sampled curve puts in the wrong place (half the area between the two curves) at "
        f"p = {fmt.probs(gap['keep_prob'].unique(maintain_order=True))}: {shares}. "
        + (f"Under {fmt.pct(SMALL_GAP)} everywhere: the shapes the study read off its curves are the network's, "
           f"not the sample's." if (gap["share_misplaced"] < SMALL_GAP).all() else
           f"{fmt.pct(SMALL_GAP)} or more in places: there the sampled curve's shape is partly the sample's.")
    )


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    return Section("exact-densities", f"Exact vs sampled: the densities of F2–F4 over all {ctx.n_masks:,} masks",
                   caption(ctx), chart(ctx), nav="densities")
