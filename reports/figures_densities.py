"""F2–F7: density curves of loss, log loss and mask gradients over the sampled masks."""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from reports import theme
from reports.data import ReportData
from reports.density import density_table, normal_pdf
from reports.vldata import inline

FIT_POINTS = 200


def half_prob(data: ReportData) -> float:
    """The keep probability F6/F7 split at: ½ as in the study, else the closest one run."""
    return min(data.keep_probs, key=lambda p: abs(p - 0.5))


def _with_p(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.col("keep_prob").map_elements(theme.p_label, return_dtype=pl.String).alias("p")
    )


def _curves(frame: pl.DataFrame, value: str, width: float) -> pl.DataFrame:
    return _with_p(density_table(frame, value, ["keep_prob"], width)).select("p", "x", "density")


def _normal_fits(curves: pl.DataFrame, stats: pl.DataFrame, mean: str, std: str) -> pl.DataFrame:
    """The best-fit bell curve per p (dotted in the study), over the same x range as its density."""
    parts = []
    for row in _with_p(stats).iter_rows(named=True):
        span = curves.filter(pl.col("p") == row["p"])["x"]
        x = np.linspace(span.min(), span.max(), FIT_POINTS)
        parts.append(pl.DataFrame({"p": row["p"], "x": x, "density": normal_pdf(x, row[mean], row[std])}))
    return pl.concat(parts)


def _density_chart(curves: pl.DataFrame, data: ReportData, x_title: str) -> alt.Chart:
    return (
        alt.Chart(inline(curves))
        .mark_line(strokeWidth=1.6)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False, nice=False)),
            y=alt.Y("density:Q", title=theme.DENSITY),
            color=theme.p_colour(data.keep_probs),
        )
        .properties(width=theme.WIDE, height=theme.TALL)
    )


def _fit_layer(fits: pl.DataFrame, data: ReportData) -> alt.Chart:
    return (
        alt.Chart(inline(fits))
        .mark_line(strokeDash=[3, 3], strokeWidth=1.3)
        .encode(x="x:Q", y="density:Q", color=theme.p_colour(data.keep_probs), detail="p:N")
    )


def loss_densities(data: ReportData, width: float) -> alt.LayerChart:
    """F2: one curve per p, and a grey rule at the full network's loss."""
    curves = _curves(data.samples, "loss", width)
    full = float(data.run["test_loss"])
    rule = alt.Chart(inline(pl.DataFrame({"x": [full], "label": [f"full network {full:.3f}"]})))
    return alt.layer(
        _density_chart(curves, data, theme.LOSS),
        rule.mark_rule(color=theme.FULL_NETWORK_GREY, strokeWidth=1.5).encode(x="x:Q"),
        rule.mark_text(align="left", dx=4, dy=-6, color=theme.FULL_NETWORK_GREY, fontSize=11).encode(
            x="x:Q", y=alt.value(8), text="label:N"
        ),
    )


def log_loss_densities(data: ReportData, width: float) -> alt.LayerChart:
    """F3: densities of ln(loss) with dotted best-fit normals (T1's means and stds)."""
    curves = _curves(data.samples, "log_loss", width)
    fits = _normal_fits(curves, data.loss_stats, "mean_log_loss", "std_log_loss")
    return alt.layer(_density_chart(curves, data, theme.LOG_LOSS), _fit_layer(fits, data))


def grad_densities(data: ReportData, width: float) -> alt.LayerChart:
    """F4: ∂loss/∂on_i pooled over masks and nodes, with dotted normal fits (T2)."""
    curves = _curves(data.node_grads, "grad", width)
    fits = _normal_fits(curves, data.grad_stats, "mean_grad", "std_grad")
    return alt.layer(_density_chart(curves, data, theme.GRAD), _fit_layer(fits, data))


def _zero_rule() -> alt.Chart:
    return alt.Chart(inline(pl.DataFrame({"x": [0.0]}))).mark_rule(
        color=theme.FULL_NETWORK_GREY, strokeDash=[2, 2]
    ).encode(x="x:Q")


def grad_log_densities(data: ReportData, width: float) -> alt.LayerChart:
    """F5: ∂ln(loss)/∂on_i pooled; the dashed rule marks 0, where the study saw a trough."""
    curves = _curves(data.node_grads, "grad_log", width)
    return alt.layer(_density_chart(curves, data, theme.GRAD_LOG), _zero_rule())


def _on_off(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.with_columns(
        pl.when(pl.col("node_on") == 1).then(pl.lit("on (1)")).otherwise(pl.lit("off (0)")).alias("node i is")
    )


def on_off_colour(**legend) -> alt.Color:
    return alt.Color(
        "node i is:N",
        scale=alt.Scale(domain=["off (0)", "on (1)"], range=[theme.NODE_OFF_COLOUR, theme.NODE_ON_COLOUR]),
        title="node i in the mask is",
        legend=alt.Legend(**legend) if legend else alt.Undefined,
    )


def split_densities(data: ReportData, width: float) -> alt.LayerChart:
    """F6: at p = ½, ∂ln(loss)/∂on_i split by whether node i is off or on in the mask."""
    at_half = data.node_grads.filter(pl.col("keep_prob") == half_prob(data))
    curves = _on_off(density_table(at_half, "grad_log", ["node_on"], width))
    chart = (
        alt.Chart(inline(curves))
        .mark_line(strokeWidth=1.6)
        .encode(
            x=alt.X("x:Q", title=theme.GRAD_LOG, scale=alt.Scale(zero=False, nice=False)),
            y=alt.Y("density:Q", title=theme.DENSITY),
            color=on_off_colour(),
        )
        .properties(width=theme.WIDE, height=theme.TALL)
    )
    return alt.layer(chart, _zero_rule())


def node_split_densities(data: ReportData, width: float) -> alt.FacetChart:
    """F7: F6 per neuron, one small multiple each, own axes (some neurons matter far less)."""
    at_half = data.node_grads.filter(pl.col("keep_prob") == half_prob(data))
    curves = _on_off(density_table(at_half, "grad_log", ["node", "node_on"], width))
    return (
        alt.Chart(inline(curves.drop("node_on"), significant=4))
        .mark_line(strokeWidth=1.2)
        .encode(
            x=alt.X("x:Q", title=None, scale=alt.Scale(zero=False, nice=False), axis=alt.Axis(tickCount=4, labelFontSize=9)),
            # A fixed label gutter keeps the panels aligned whatever their y ranges.
            y=alt.Y("density:Q", title=None, axis=alt.Axis(tickCount=4, labelFontSize=9, minExtent=26, maxExtent=26)),
            color=on_off_colour(orient="top"),
        )
        .properties(width=theme.SMALL, height=90)
        .facet(facet=alt.Facet("node:O", title=None, header=alt.Header(labelExpr="'node ' + datum.value")),
               columns=theme.facet_columns(data.hidden))
        .resolve_scale(x="independent", y="independent")
        # One axis title for all panels instead of twenty copies.
        .properties(title=alt.TitleParams(
            f"each panel: x = {theme.GRAD_LOG}, y = {theme.DENSITY}", fontSize=12, fontWeight="normal", color="#444",
        ))
    )
