"""Complements and the balance conjecture: the correlation of a mask's log loss with its complement's
per size (complement_pairs), and the study's guess that good pruned networks are "balanced"
(balance_conjecture, balance_summary, balance_samples)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import dataset, fmt, theme
from reports.sections import Section, missing
from reports.vldata import inline

COMPLEMENT = "log loss of a mask vs log loss of its complement"
BALANCE = "imbalance of a mask vs its log loss"
PANEL_WIDTH, PANEL_HEIGHT = 380, 280
# Knockout's yardstick: balance explains little of the complement correlation when more than this share
# of it is left once both imbalances are accounted for.
MOSTLY_LEFT = 0.5

QUERIES = {
    "complements": """
        select k, corr from complement_pairs
        where run_id = $run and k is not null and n_masks >= 3 and isfinite(corr) order by k
    """,
    "balance": """
        select k, corr_imbalance_log_loss as corr from balance_conjecture
        where run_id = $run and k is not null and imbalance_varies order by k
    """,
    "samples": """
        select imbalance, log_loss_vs_size, n_on, n_cutters_on from balance_samples
        where run_id = $run and keep_prob = $keep_prob and imbalance is not null
    """,
    "complement_summary": "select * from complement_summary where run_id = $run",
    "balance_summary": "select * from balance_summary where run_id = $run",
    "mask_rows": "select exists(select 1 from mask_exhaustive where run_id = $run) as e",
    "sample_corr": "select * from balance_sample_corr where run_id = $run and keep_prob = $keep_prob",
    # a 2^N-row self-join of the run's masks: read for this run only
    "complement_balance": "select * from complement_balance where run_id = $run order by level",
}


def correlations_by_size(ctx) -> alt.LayerChart:
    """Per k: corr(log loss of a mask, of its complement) and corr(imbalance, log loss)."""
    long = pl.concat([
        ctx.wh.run_frame(QUERIES["complements"]).with_columns(pl.lit(COMPLEMENT).alias("correlation of")),
        ctx.wh.run_frame(QUERIES["balance"]).with_columns(pl.lit(BALANCE).alias("correlation of")),
    ])
    lines = alt.Chart(inline(long)).mark_line(point=True, strokeWidth=1.6).encode(
        x=alt.X("k:Q", title="k, number of nodes on in the mask", axis=alt.Axis(tickMinStep=1),
                scale=alt.Scale(domain=[0, ctx.hidden])),
        y=alt.Y("corr:Q", title="correlation among masks with k nodes on", scale=alt.Scale(domain=[-1, 1])),
        color=alt.Color("correlation of:N", scale=alt.Scale(domain=[COMPLEMENT, BALANCE],
                                                           range=[theme.FROM_END_COLOUR, "#4c78a8"]),
                        legend=alt.Legend(orient="bottom", columns=1, labelLimit=400)),
        tooltip=["correlation of:N", "k:Q", alt.Tooltip("corr:Q", format=".3f")],
    )
    zero = alt.Chart(inline(pl.DataFrame({"y": [0.0]}))).mark_rule(color=theme.FULL_NETWORK_GREY).encode(y="y:Q")
    return alt.layer(zero, lines).properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)


def balance_scatter(ctx) -> alt.LayerChart:
    """The sampled masks at the p nearest ½: imbalance against log loss relative to masks of the same size."""
    frame = ctx.wh.run_frame(QUERIES["samples"], {"keep_prob": ctx.p_half})
    dots = alt.Chart(inline(frame)).mark_circle(size=14, opacity=0.5, color="#4c78a8").encode(
        x=alt.X("imbalance:Q", title="imbalance of the mask's cutting nodes (0 balanced, 1 one-sided)",
                scale=alt.Scale(domain=[0, 1])),
        y=alt.Y("log_loss_vs_size:Q", title="log loss minus the mean for masks of its size"),
        tooltip=["n_on:Q", "n_cutters_on:Q", alt.Tooltip("imbalance:Q", format=".3f"),
                 alt.Tooltip("log_loss_vs_size:Q", format=".3f")],
    )
    fit = dots.transform_regression("imbalance", "log_loss_vs_size").mark_line(color="#e45756", strokeWidth=2)
    return alt.layer(dots, fit).properties(width=PANEL_WIDTH, height=PANEL_HEIGHT)


def chart(ctx) -> alt.HConcatChart:
    if not ctx.one_layer:  # imbalance is a one-layer notion (cutter_directions)
        return correlations_by_size(ctx)
    return alt.hconcat(correlations_by_size(ctx), balance_scatter(ctx), spacing=30)


def within(corr) -> str:
    return "not defined (no variation)" if missing(corr) else fmt.signed(corr, 3)


def caption(ctx) -> str:
    c = ctx.wh.run_row(QUERIES["complement_summary"])
    b = ctx.wh.run_row(QUERIES["balance_summary"])
    scatter = ctx.wh.run_row(QUERIES["sample_corr"], {"keep_prob": ctx.p_half})
    n_paths = ctx.config.get("flip_paths")
    supported = (b.get("corr_within_size") or 0) > 0 and (b.get("corr_within_size_and_cutters") or 0) > 0 \
        and b.get("n_sizes") and b.get("n_sizes_positive") == b.get("n_sizes")
    verdict = (
        "The data support the guess: in every size, the more one-sided a mask's cutting nodes, the higher its "
        "loss on average, also among masks with as many cutting nodes on."
        if supported else
        "The data do not clearly support the guess: the correlation is not positive within every size, or "
        "vanishes when the number of cutting nodes is held fixed."
    )
    by_size = (("from " + f"{c['lowest_corr']:+.2f} (k = {c['lowest_k']}) to {c['highest_corr']:+.2f} (k = "
                f"{c['highest_k']})".replace("-", fmt.MINUS)) if not missing(c.get("lowest_corr"))
               else "not defined in any size (too few masks per size, or log loss does not vary)")
    holds = (c.get("pooled_corr") or 0) > 0
    if b.get("n_sizes"):
        sizes = (f"positive in {b.get('n_sizes_positive') or 0} of the {b['n_sizes']} sizes where it can vary"
                 f" ({fmt.span(b['min_corr_by_size'], b['max_corr_by_size'], 2)})")
    else:
        sizes = "not defined in any size (imbalance or log loss never varies among the masks of one size)"
    if missing(b.get("corr_within_size")) and missing(b.get("corr_within_size_and_cutters")):
        pooled = ("over all masks it is not defined either (measured from the mean of their size, or of their "
                  "size and number of cutting nodes, imbalance or log loss does not vary)")
    else:
        pooled = (f"over all masks, measured from the mean of their size {within(b.get('corr_within_size'))}, and "
                  f"of their size and number of cutting nodes {within(b.get('corr_within_size_and_cutters'))}")
    if not scatter.get("n"):
        scatter_text = f"Right: none of the masks sampled at p = {fmt.prob(ctx.p_half)} has a cutting node on."
    elif missing(scatter["corr"]):
        scatter_text = (f"Right: the {scatter['n']:,} masks sampled at p = {fmt.prob(ctx.p_half)} with a cutting "
                        f"node on; r is not defined (imbalance or log loss does not vary over them).")
    else:
        scatter_text = (f"Right: the {scatter['n']:,} masks sampled at p = {fmt.prob(ctx.p_half)} with a cutting "
                        f"node on, r = {fmt.signed(scatter['corr'])}.")
    if not ctx.one_layer:
        return complement_text(ctx, c, by_size, holds, n_paths).replace("Left, pink: a", "A") + (
            "The study's balance conjecture is about the input-weight directions of the cutting nodes of one hidden "
            f"layer of ReLUs; for this network ({dataset.network(ctx)}) it is not defined, so its line and "
            "scatter are left out.")
    if not ctx.wh.run_row(QUERIES["mask_rows"]).get("e"):
        # aggregate-only enumeration: the exact line needs each mask's imbalance, i.e. the per-mask rows
        return (
            complement_text(ctx, c, by_size, holds, n_paths)
            + f"The study guessed good pruned networks are \"balanced\"; here a mask's imbalance is the length of "
            f"the mean unit input-weight direction of its cutting (not bias-like) nodes. Its exact line over all "
            f"masks (left, blue) is left out: it is computed from each mask's row, and this run kept none "
            f"(--exhaustive-rows {ctx.config.get('exhaustive_rows', 'none')}, store/README.md). {scatter_text}"
        )
    return (
        complement_text(ctx, c, by_size, holds, n_paths)
        + f"The study guessed good pruned networks are \"balanced\"; here a mask's imbalance is the length of the "
        f"mean unit input-weight direction of its cutting (not bias-like) nodes. Left, blue: its correlation with "
        f"log loss among masks of one size, {sizes}; {pooled}. {scatter_text} {verdict}"
        + explanation_text(ctx)
    )


def complement_text(ctx, c, by_size, holds, n_paths) -> str:
    return (
        f"Left, pink: among all masks with k nodes on, the correlation of a mask's log loss with its complement's "
        f"(the same for k and N − k), {by_size}; over all {ctx.n_masks:,} masks pooled "
        + (f"it is not defined either (log loss does not vary over the masks), so whether the study's surprise "
           f"(F9) holds cannot be told. " if missing(c.get("pooled_corr")) else
           f"{fmt.signed(c.get('pooled_corr'), 3)}"
           + (f": the study's surprise (F9) holds exactly, not by accident of {n_paths:,} random paths. " if holds
              else ": the study's surprise (F9) does not hold for this network. "))
    )


def explanation_text(ctx) -> str:
    """The study offered balance as the explanation of the complement correlation: does a mask's imbalance
    go with its complement's, and how much of the complement correlation is left once both imbalances are
    accounted for (complement_balance)?"""
    levels = {r["level"]: r for r in ctx.wh.run_frame(QUERIES["complement_balance"]).iter_rows(named=True)}
    size, cutters = levels.get("size"), levels.get("size_and_cutters")
    if not size or size["corr_log_loss"] is None or size["partial_log_loss"] is None:
        return ""
    if missing(size["corr_imbalance"]) or missing(size["corr_log_loss"]) or missing(size["partial_log_loss"]):
        return (f" The study offered balance as the explanation of the complement correlation; here that is not "
                f"defined: over the {size['n_masks']:,} masks where both the mask and its complement have a "
                f"cutting node on, imbalance or log loss does not vary once the size is accounted for, so there "
                f"is no correlation to explain or to remove.")
    same = (size["corr_imbalance"] or 0) > 0
    remains = size["share_remaining"]
    cutters_text = (f"; {fmt.pct(cutters['share_remaining'])} measured within size and number of cutting nodes "
                    f"({fmt.signed(cutters['corr_log_loss'], 2)} → {fmt.signed(cutters['partial_log_loss'], 2)})"
                    if cutters and cutters["share_remaining"] is not None else "")
    verdict = ("Whatever balance does for a mask's own loss, it explains little of why a mask and its complement "
               "lose alike" if remains is not None and remains > MOSTLY_LEFT
               else "Balance accounts for much of why a mask and its complement lose alike")
    return (
        f" The study offered balance as the explanation of the complement correlation. Over the "
        f"{size['n_masks']:,} masks where both the mask and its complement have a cutting node on, measured from "
        f"the mean of their "
        f"size, a mask's imbalance correlates {fmt.signed(size['corr_imbalance'], 2)} with its complement's"
        + (" — balanced masks tend to have balanced complements" if same
           else " — balanced masks do not have balanced complements")
        + f"; the complement correlation of log loss over these masks, {fmt.signed(size['corr_log_loss'], 2)}, is "
        f"still {fmt.signed(size['partial_log_loss'], 2)} once both imbalances are accounted for (partial "
        f"correlation): {fmt.pct(remains)} of it remains{cutters_text}. {verdict}."
    )


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    return Section("complements", "Complements and the balance conjecture", caption(ctx), chart(ctx),
                   nav="complements")
