"""Colours, axis titles and chart sizes shared by every figure, so one keep probability looks the same everywhere."""

from __future__ import annotations

import math

import altair as alt

# The study's plots used matplotlib's default cycle over its keep probabilities in increasing order
# (blue, orange, green: "the green line touches the grey line" is its highest p), so the study's p
# values (study_reference) keep those colours; other keep probabilities get the next colours.
STUDY_P_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c"]
EXTRA_COLOURS = ["#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf"]
FULL_NETWORK_GREY = "#7f7f7f"
# F6/F7: is node i off (0) or on (1) in the mask — colours distinct from the three p colours.
NODE_OFF_COLOUR = "#9467bd"
NODE_ON_COLOUR = "#8c564b"
# F9: the study's turquoise (from the start) and pink (from the end).
FROM_START_COLOUR = "#17becf"
FROM_END_COLOUR = "#e377c2"

# Axis titles in the study's words.
LOSS = "loss (cross-entropy over the test set)"
LOG_LOSS = "log loss, ln(loss)"
GRAD = "gradient of loss, ∂loss/∂on_i"
GRAD_LOG = "gradient of log loss, ∂ln(loss)/∂on_i"
DENSITY = "probability density"
X0 = "input x0"
X1 = "input x1"

WIDE = 560
TALL = 300
SMALL = 130


def facet_columns(panels: int) -> int:
    """Small multiples per row: at most 5, fewer for a small network so rows are full."""
    return min(5, math.ceil(math.sqrt(panels)))


def p_label(keep_prob: float) -> str:
    return f"p = {keep_prob:g}"


def p_scale(keep_probs: list[float], study_probs: list[float]) -> alt.Scale:
    """Colour scale over the labels `p_label(p)`; each of the study's p values keeps its study colour."""
    study = {round(p, 9): c for p, c in zip(sorted(study_probs), STUDY_P_COLOURS)}
    extra = iter(EXTRA_COLOURS)
    colours = [study.get(round(p, 9)) or next(extra, "#333333") for p in keep_probs]
    return alt.Scale(domain=[p_label(p) for p in keep_probs], range=colours)


def p_colour(keep_probs: list[float], study_probs: list[float],
             title: str = "each node kept with probability") -> alt.Color:
    return alt.Color("p:N", scale=p_scale(keep_probs, study_probs), title=title,
                     sort=[p_label(p) for p in keep_probs])


def configure(chart: alt.TopLevelMixin) -> alt.TopLevelMixin:
    """Fonts and sizes common to the page and the PNG snapshots."""
    return (
        chart.configure_axis(labelFontSize=11, titleFontSize=12, titleFontWeight="normal")
        .configure_legend(labelFontSize=11, titleFontSize=11, titleFontWeight="normal", orient="right")
        .configure_header(labelFontSize=11, titleFontSize=12)
        .configure_view(stroke="#bbb")
        .configure_title(fontSize=14, anchor="start")
    )


def spec(chart: alt.TopLevelMixin, validate: bool = False) -> dict:
    """The chart as Vega-Lite JSON with configure()'s fonts. The configuration is set on the JSON rather
    than on the chart: each configure_* call deep-copies a chart with all its data."""
    out = chart.to_dict(validate=validate)
    config = out.setdefault("config", {})
    for key, settings in CONFIG.items():
        config[key] = {**config.get(key, {}), **settings}
    return out


CONFIG = configure(alt.Chart()).to_dict(validate=False)["config"]
