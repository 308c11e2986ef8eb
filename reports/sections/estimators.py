"""Sampled Shapley against the truth: how many mask evaluations each estimator (captum, shapiq,
truncated Monte Carlo, the cheap scores) needs before its values match the exact ones
(estimator_error_curve, estimator_budget_needed). Left out when the store holds no benchmark for the
run: `python -m ingest.estimators --store DIR` makes one."""

from __future__ import annotations

import math

import altair as alt
import polars as pl

from reports import fmt
from reports.sections import Section, missing
from reports.tables import table, titled
from reports.vldata import inline

QUERIES = {
    "curve": """
        select target, estimator, library, budget, repetitions, mae_mean, mae_min, mae_max, spearman_mean,
               top3_precision_mean
        from estimator_error_curve where run_id = $run order by target, estimator, budget
    """,
    "needed": "select * from estimator_budget_needed where run_id = $run order by target, estimator",
    "targets": "select rho_target, top_k from estimator_targets",
}
TARGET_NAMES = {"shapley": "Shapley values", "banzhaf": "Banzhaf values"}
# The cheap scores are one point each, at the masks they cost; the sampled estimators are curves.
PROXY_LIBRARY = "warehouse"
WIDTH, HEIGHT = 330, 230
# An error below this share of the largest one is rounding: the estimate is exact.
EXACT_SHARE = 1e-9


def panel(frame: pl.DataFrame, y: str, title: str, y_axis: alt.Y, rule: float | None) -> alt.LayerChart:
    names = sorted(frame["estimator"].unique().to_list())
    colour = alt.Color("estimator:N", sort=names, scale=alt.Scale(scheme="tableau20"),
                       legend=alt.Legend(orient="right", title="estimator", labelLimit=220, symbolOpacity=1,
                                         symbolType="stroke", symbolStrokeWidth=3))
    # a label at every fourth power of two: 1, 16, 256, 4,096, 65,536, … (every budget would overlap)
    largest = int(frame["budget"].max())
    ticks = [4 ** i for i in range((largest.bit_length() + 1) // 2 + 1) if 4 ** i <= 2 * largest]
    x = alt.X("budget:Q", scale=alt.Scale(type="log", base=2), title="mask evaluations (budget, log scale)",
              axis=alt.Axis(values=ticks, format=",", labelAngle=0))
    tooltip = ["estimator:N", "library:N", alt.Tooltip("budget:Q", format=","),
               alt.Tooltip("repetitions:Q"), alt.Tooltip(f"{y}:Q", format=".4g")]
    sampled = frame.filter(pl.col("library") != PROXY_LIBRARY)
    proxies = frame.filter(pl.col("library") == PROXY_LIBRARY)
    layers = [alt.Chart(inline(sampled)).mark_line(point=alt.OverlayMarkDef(size=18), strokeWidth=1.5)
              .encode(x=x, y=y_axis, color=colour, tooltip=tooltip)]
    if y == "mae_mean":  # the spread over repetitions: lowest to highest error
        layers.insert(0, alt.Chart(inline(sampled)).mark_area(opacity=0.12)
                      .encode(x=x, y=alt.Y("mae_min:Q"), y2="mae_max:Q", color=colour))
    if len(proxies):
        layers.append(alt.Chart(inline(proxies)).mark_point(shape="diamond", size=90, filled=True)
                      .encode(x=x, y=y_axis, color=colour, tooltip=tooltip))
    if rule is not None:
        layers.append(alt.Chart(inline(pl.DataFrame({"rule": [rule]}))).mark_rule(strokeDash=[4, 3], color="#555")
                      .encode(y="rule:Q"))
    return alt.layer(*layers).properties(width=WIDTH, height=HEIGHT,
                                         title=alt.TitleParams(title, fontSize=12, fontWeight="normal"))


def chart(ctx, curve: pl.DataFrame, rho_target: float) -> alt.VConcatChart:
    rows = []
    for target, name in TARGET_NAMES.items():
        frame = curve.filter(pl.col("target") == target)
        if not len(frame):
            continue
        # Once a budget covers every mask, some estimators are exact up to rounding (errors of 1e-18):
        # those are drawn at the axis' floor, half the smallest error of an estimate that is not exact.
        top = float(frame["mae_max"].max() or 0.0)
        inexact = frame.filter(pl.col("mae_mean") > EXACT_SHARE * top)["mae_mean"]
        floor = float(inexact.min()) / 2 if len(inexact) else max(top, 1e-12)
        frame = frame.with_columns([pl.col(c).clip(lower_bound=floor) for c in ("mae_mean", "mae_min", "mae_max")])
        error = panel(frame, "mae_mean", f"{name}: mean absolute error (band: lowest to highest repetition)",
                      alt.Y("mae_mean:Q", scale=alt.Scale(type="log"), title="mean |estimate − exact| (loss)"),
                      None)
        # ρ from 0 (or the lowest mean ρ, if negative, to a tenth) to 1: where the curves are told apart
        lowest = frame["spearman_mean"].drop_nulls().min()
        low = min(0.0, math.floor(10 * float(lowest)) / 10) if lowest is not None else 0.0
        rank = panel(frame, "spearman_mean", f"{name}: rank correlation with the exact values (dashed: ρ = "
                     f"{fmt.num(rho_target, 2)})",
                     alt.Y("spearman_mean:Q", scale=alt.Scale(domain=[low, 1]), title="Spearman ρ, mean over repetitions"),
                     rho_target)
        rows.append(alt.hconcat(error, rank, spacing=30))
    return alt.vconcat(*rows, spacing=24).resolve_scale(color="shared")


def budget_text(value) -> str:
    return "not reached" if missing(value) else f"{int(value):,}"


def ordered(frame: pl.DataFrame, column: str) -> str:
    """"a 4,096; b 8,192" for the estimators that reach `column`, smallest budget first."""
    rows = frame.filter(pl.col(column).is_not_null()).sort([column, "estimator"])
    return "; ".join(f"{r['estimator']} {int(r[column]):,}" for r in rows.iter_rows(named=True))


def caption(ctx, needed: pl.DataFrame, curve: pl.DataFrame, targets: dict) -> str:
    rho, k = fmt.num(targets["rho_target"], 2), targets["top_k"]
    sampled_curve = curve.filter(pl.col("library") != PROXY_LIBRARY)
    reps = int(sampled_curve["repetitions"].max())
    low, top_budget = int(sampled_curve["budget"].min()), int(sampled_curve["budget"].max())
    shapley = needed.filter((pl.col("target") == "shapley") & (pl.col("library") != PROXY_LIBRARY))
    rho_text = ordered(shapley, "budget_rho")
    rho_never = shapley.filter(pl.col("budget_rho").is_null())["estimator"].to_list()
    rho_text = (f"Mean ρ ≥ {rho} is first reached at: {rho_text}" if rho_text else
                f"No sampled estimator reaches a mean ρ of {rho} within {top_budget:,} masks")
    rho_text += f"; not within {top_budget:,}: {fmt.join(rho_never)}." if rho_never and rho_text else "."
    top_text = ordered(shapley, "budget_top3")
    top_never = shapley.filter(pl.col("budget_top3").is_null())["estimator"].to_list()
    top_text = (f" The exact top {k} in every one of the {reps} repetitions: {top_text}" if top_text else
                f" No sampled estimator finds the exact top {k} in every repetition within {top_budget:,} masks")
    top_text += (f"; not within {top_budget:,}: {fmt.join(top_never)}." if top_never and ordered(shapley, "budget_top3")
                 else ".")
    proxies = needed.filter(pl.col("library") == PROXY_LIBRARY)
    proxy_text = "; ".join(
        f"{r['estimator']} ({int(r['max_budget']):,} {'mask' if r['max_budget'] == 1 else 'masks'}) ρ = "
        f"{fmt.fixed(r['final_spearman'], 2)}, top {k} {fmt.fixed(r['final_top3_precision'], 2)}"
        for r in proxies.iter_rows(named=True))
    proxy_text = f" The cheap scores, read as Shapley estimates (diamonds): {proxy_text}." if proxy_text else ""
    banzhaf = needed.filter(pl.col("target") == "banzhaf")
    banzhaf_text = "; ".join(f"{r['estimator']} ρ ≥ {rho} at {budget_text(r['budget_rho'])}, top {k} in every "
                             f"repetition at {budget_text(r['budget_top3'])}" for r in banzhaf.iter_rows(named=True))
    banzhaf_text = (f" Against the exact Banzhaf values (second row): {banzhaf_text}." if banzhaf_text else "")
    slow = shapley.sort("total_wall_seconds", descending=True).row(0, named=True) if len(shapley) else None
    time_text = (f" The time is the library's own bookkeeping, its masks looked up: over all budgets and repetitions "
                 f"{slow['estimator']} took {fmt.fixed(slow['total_wall_seconds'], 1)} s, where the kernel evaluates the "
                 f"same {slow['total_evaluations']:,} masks in {fmt.fixed(slow['total_kernel_seconds'], 2)} s."
                 if slow else "")
    return (
        f"How many mask evaluations does sampled Shapley need on this network? Each estimator ran {reps} times "
        f"(seeded) at every budget from {low:,} to {top_budget:,} masks, its masks looked up in the exact table, "
        f"and was scored against the exact Shapley values of all {ctx.n_masks:,} masks (the value of a set of "
        f"neurons: the test loss of the subnetwork it keeps): the mean absolute error (left) and the Spearman "
        f"rank correlation ρ (right). {rho_text}{top_text}{proxy_text}{banzhaf_text}{time_text} The band around "
        f"an error curve runs from its best to its worst repetition; a curve that drops to the bottom edge has "
        f"become exact (its budget covers every mask)."
    )


def needed_table(needed: pl.DataFrame, targets: dict):
    rows = [[TARGET_NAMES[r["target"]].split()[0], f"{r['estimator']} ({r['library']})", budget_text(r["budget_rho"]),
             budget_text(r["budget_top3"]), budget_text(r["budget_both"]), f"{int(r['max_budget']):,}",
             error_text(r["final_mae"]), fmt.fixed(r["final_spearman"], 3), fmt.fixed(r["total_wall_seconds"], 2),
             fmt.fixed(r["total_kernel_seconds"], 3)]
            for r in needed.sort(["target", "budget_both", "estimator"], descending=[True, False, False],
                                 nulls_last=True).iter_rows(named=True)]
    return table(["target", "estimator (library)", f"ρ ≥ {fmt.num(targets['rho_target'], 2)}",
                  f"top {targets['top_k']} in every repetition", "both", "largest budget",
                  "MAE there", "ρ there", "library seconds, all runs", "kernel seconds, same masks"],
                 rows, table_id="estimator-table", numeric={2, 3, 4, 5, 6, 7, 8, 9})


def error_text(value) -> str:
    """An error in two significant digits: they span 1e-18 (exact up to rounding) to 1e-1."""
    if missing(value):
        return fmt.MISSING
    return f"{value:.2g}".replace("-", fmt.MINUS)


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    curve = ctx.wh.run_frame(QUERIES["curve"])
    if not len(curve):  # no benchmark in this store: python -m ingest.estimators makes one
        return None
    needed = ctx.wh.run_frame(QUERIES["needed"])
    targets = ctx.wh.frame(QUERIES["targets"]).row(0, named=True)
    return Section("estimators", "How many evaluations does sampled Shapley need on this network?",
                   caption(ctx, needed, curve, targets), chart(ctx, curve, targets["rho_target"]), nav="estimators",
                   after=titled("The budget each estimator needs: the smallest measured budget, in masks, where the "
                                "rank correlation, the top neurons, or both are found",
                                needed_table(needed, targets)))
