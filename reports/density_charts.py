"""The pieces of every density figure (F2–F7 and the exact densities): one curve per keep
probability, dotted best-fit normals, a rule at 0, and the off/on colours of F6 and F7."""

from __future__ import annotations

import altair as alt
import numpy as np
import polars as pl

from reports import fmt, theme
from reports.density import density_table, normal_pdf
from reports.vldata import inline

FIT_POINTS = 200
OFF, ON = "off (0)", "on (1)"


def kernel_note(ctx, stds) -> str:
    """A sentence for a figure whose values are narrower than the study's kernel: there the curves show
    the kernel's bell more than the data's shape (a small or barely trained network)."""
    narrow = [p for p, std in zip(ctx.keep_probs, stds) if std is not None and std < ctx.kernel_width]
    if not narrow:
        return ""
    return (f" At p = {fmt.probs(narrow)} the values spread less than the kernel's width "
            f"({ctx.kernel_width:g}), so the curve there is mostly the kernel's own bell.")


def with_p(frame: pl.DataFrame) -> pl.DataFrame:
    """A column p with the label of keep_prob ("p = 0.25"), the legend's key."""
    return frame.with_columns(pl.col("keep_prob").map_elements(theme.p_label, return_dtype=pl.String).alias("p"))


def curves(frame: pl.DataFrame, value: str, width: float) -> pl.DataFrame:
    """One density curve of `value` per keep probability: p, x, density."""
    return with_p(density_table(frame, value, ["keep_prob"], width)).select("p", "x", "density")


def normal_fits(curves_: pl.DataFrame, stats: pl.DataFrame, mean: str, std: str) -> pl.DataFrame:
    """The best-fit bell curve per p (dotted in the study), over the same x range as its density."""
    parts = []
    for row in with_p(stats).iter_rows(named=True):
        span = curves_.filter(pl.col("p") == row["p"])["x"]
        if span.is_empty() or not row[std]:
            continue
        x = np.linspace(span.min(), span.max(), FIT_POINTS)
        parts.append(pl.DataFrame({"p": row["p"], "x": x, "density": normal_pdf(x, row[mean], row[std])}))
    return pl.concat(parts) if parts else pl.DataFrame(schema={"p": pl.String, "x": pl.Float64, "density": pl.Float64})


def density_chart(curves_: pl.DataFrame, colour: alt.Color, x_title: str) -> alt.Chart:
    return (
        alt.Chart(inline(curves_))
        .mark_line(strokeWidth=1.6)
        .encode(
            x=alt.X("x:Q", title=x_title, scale=alt.Scale(zero=False, nice=False)),
            y=alt.Y("density:Q", title=theme.DENSITY),
            color=colour,
        )
        .properties(width=theme.WIDE, height=theme.TALL)
    )


def fit_layer(fits: pl.DataFrame, colour: alt.Color) -> alt.Chart:
    return (
        alt.Chart(inline(fits))
        .mark_line(strokeDash=[3, 3], strokeWidth=1.3)
        .encode(x="x:Q", y="density:Q", color=colour, detail="p:N")
    )


def zero_rule() -> alt.Chart:
    return alt.Chart(inline(pl.DataFrame({"x": [0.0]}))).mark_rule(
        color=theme.FULL_NETWORK_GREY, strokeDash=[2, 2]
    ).encode(x="x:Q")


def on_off(frame: pl.DataFrame) -> pl.DataFrame:
    """A column "node i is" naming whether node i is off (0) or on (1) in the mask."""
    return frame.with_columns(
        pl.when(pl.col("node_on") == 1).then(pl.lit(ON)).otherwise(pl.lit(OFF)).alias("node i is")
    )


def on_off_colour(**legend) -> alt.Color:
    return alt.Color(
        "node i is:N",
        scale=alt.Scale(domain=[OFF, ON], range=[theme.NODE_OFF_COLOUR, theme.NODE_ON_COLOUR]),
        title="node i in the mask is",
        legend=alt.Legend(**legend) if legend else alt.Undefined,
    )
