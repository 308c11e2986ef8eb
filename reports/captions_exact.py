"""Captions of the sections beyond the study, written from this run's exact views."""

from __future__ import annotations

import numpy as np
import polars as pl

from reports import replication
from reports.captions import _join
from reports.data import ReportData
from reports.exact_data import ExactData
from reports.figures_exact import EXACT, SAMPLED, density_frame
from reports.figures_importance import SHORT
from reports.figures_subnetworks import informative_sizes, mask_nodes


def total_variation(frame: pl.DataFrame, keep_prob: float) -> float:
    """½ ∫ |sampled − exact| dx of two smoothed curves: the share of probability in the wrong place."""
    at = frame.filter(pl.col("keep_prob") == keep_prob)
    s = at.filter(pl.col("source") == SAMPLED).sort("x")
    e = at.filter(pl.col("source") == EXACT).sort("x")
    lo = min(s["x"].min(), e["x"].min())
    hi = max(s["x"].max(), e["x"].max())
    x = np.linspace(lo, hi, 4000)
    fs = np.interp(x, s["x"].to_numpy(), s["density"].to_numpy(), left=0, right=0)
    fe = np.interp(x, e["x"].to_numpy(), e["density"].to_numpy(), left=0, right=0)
    return float(0.5 * np.trapezoid(np.abs(fs - fe), x))


def exact_densities(data: ReportData, exact: ExactData, width: float) -> str:
    n = int(data.loss_stats["n"][0])
    names = {"loss": "loss", "log_loss": "log loss", "grad": "gradient"}
    gaps = []
    for q, name in names.items():
        frame = density_frame(data, exact, q, width)
        tv = [total_variation(frame, p) for p in data.keep_probs]
        gaps.append(f"{name} {100 * min(tv):.0f}–{100 * max(tv):.0f}%")
    return (
        f"Solid: the study's {n:,} sampled masks per p, as in F2–F4. Dashed: the exact density over all "
        f"2^{exact.hidden} = {2 ** exact.hidden:,} masks, a mask with k nodes on weighted p^k (1−p)^(N−k), "
        f"smoothed with the same kernel (width {width:g}) — the curve the sampled one scatters around. "
        f"Share of probability the sampled curve puts in the wrong place (half the area between the two "
        f"curves), over p = {_join([f'{p:g}' for p in data.keep_probs])}: {_join(gaps)}. The shapes the study "
        f"read off its curves are the network's, not the sample's."
    )


def expectation_curves(data: ReportData, exact: ExactData) -> str:
    m = exact.moments
    peak = m.sort("mean_loss").row(-1, named=True)
    s = exact.sampled_vs_exact
    z = [f"{v:+.1f}" for v in s["z_mean_loss"].to_list()]
    zl = [f"{v:+.1f}" for v in s["z_mean_log_loss"].to_list()]
    worst = float(s.select((pl.col("mean_loss_sampled") - pl.col("mean_loss_exact")).abs().max()).item())
    within = int((s["z_mean_loss"].abs() < 2).sum())
    empty = float(exact.best.filter(pl.col("k") == 0)["best_loss"][0])
    return (
        f"The exact expected loss and log loss when each node is kept with probability p (line; the band is "
        f"± one standard deviation of the distribution over masks), with the study's sampled means (dots, "
        f"± 2 standard errors). Sampled minus exact mean loss, in standard errors: {_join(z)}; log loss: "
        f"{_join(zl)} (p = {_join([f'{p:g}' for p in data.keep_probs])}) — {within} of {s.height} within 2, "
        f"the largest gap {worst:.4f}: {int(s['n'][0]):,} masks pin the mean loss down to about "
        f"±{2 * float(s['std_loss_exact'].max()) / np.sqrt(float(s['n'][0])):.3f} (the error bars are hardly "
        f"wider than the dots). More neurons are not always better: on the grid of p, E[loss] is highest at "
        f"p = {peak['keep_prob']:g} ({peak['mean_loss']:.3f}), above the "
        f"{empty:.3f} of the empty network (output biases only), because a few neurons alone mislead more "
        f"than none."
    )


def importance(exact: ExactData) -> str:
    imp = exact.importance.sort("shapley", "node")
    top = imp.head(3)["node"].to_list()
    total = float(imp["shapley"].sum())
    all_on = float(exact.best.filter(pl.col("k") == exact.hidden)["best_loss"][0])
    all_off = float(exact.best.filter(pl.col("k") == 0)["best_loss"][0])
    rc = exact.rank_corr.filter(pl.col("score_a") == "shapley")
    rho = {r["score_b"]: r["spearman"] for r in rc.iter_rows(named=True)}
    cheap = ["mean_grad_sampled", "grad_full", "knockout_effect"]
    cheap_text = _join([f"{SHORT[c]} {rho[c]:.2f}" for c in cheap if rho.get(c) is not None])
    best_cheap = max((c for c in cheap if rho.get(c) is not None), key=lambda c: rho[c], default=None)
    harmful = imp.filter(pl.col("shapley") > 0)["node"].to_list()
    bias = set(exact.directions.filter(pl.col("bias_like"))["node"].to_list())
    harmful_bias = sum(1 for n in harmful if n in bias)
    bias_text = (f"all {len(harmful)} are" if harmful_bias == len(harmful) and harmful else f"{harmful_bias} are")
    verdict = (
        f"The cheap score that would have told you the truth is the {SHORT[best_cheap]} (ρ = {rho[best_cheap]:.2f})"
        if best_cheap else "No cheap score is available"
    )
    return (
        f"Each panel scores every neuron as the change in test loss from switching it on: exactly, averaged "
        f"over every order of switching nodes on (Shapley) or over every mask of the other nodes (Banzhaf); "
        f"cheaply, by the mask gradient averaged over masks, at the full network alone, or by the single "
        f"knockout (the node switched on last). Shapley top 3: nodes {_join([str(n) for n in top])}; the values "
        f"add up to {total:+.4f} = loss(all on) − loss(all off) = {all_on - all_off:+.4f}. "
        f"{len(harmful)} nodes have a positive Shapley value — on average they raise the loss — and "
        f"{bias_text} bias-like (of {len(bias)} bias-like nodes). Spearman rank correlation with the Shapley ranking: "
        f"Banzhaf {rho.get('banzhaf', float('nan')):.2f}, {cheap_text}. {verdict}; the single knockout and "
        f"the full network's gradient only see the neighbourhood of the full network."
    )


def gradient_vs_knockout(exact: ExactData) -> str:
    fe = exact.flip_effects
    pairs = int(fe["n_pairs"].sum())
    violations = int(fe["bound_violations"].sum())
    misled = fe.sort("share_misled")
    return (
        f"Each dot is a pair of masks that differ only in node i: the {exact.hidden} pairs through each of the "
        f"study's first {exact.flip_samples['sample_id'].n_unique()} masks at p = ½, "
        f"{exact.flip_samples.height:,} in all. Top: the true loss change from switching node i on against "
        f"∂loss/∂on_i at the off end (left) and at the on end (right); red where the gradient's sign is wrong. "
        f"The loss is convex in "
        f"each mask entry, so the off-end gradient is a lower bound and the on-end gradient an upper bound: "
        f"{'none' if violations == 0 else violations} of all {pairs:,} pairs "
        f"{'breaks' if violations in (0, 1) else 'break'} a bound (beyond float rounding). Correlation of the true "
        f"effect with the on-end gradient {fe['corr_grad_on'].min():.3f}–{fe['corr_grad_on'].max():.3f} per node; "
        f"the gradient is within 10% of the effect in {100 * fe['share_lower_tight'].mean():.0f}% (off end) and "
        f"{100 * fe['share_upper_tight'].mean():.0f}% (on end) of pairs, and the on-end gradient's sign is wrong "
        f"in {100 * fe['share_misled'].mean():.0f}% of pairs (bars, per node) — from {100 * misled['share_misled'][0]:.0f}% for node "
        f"{misled['node'][0]} to {100 * misled['share_misled'][-1]:.0f}% for node {misled['node'][-1]}."
    )


def sizes(data: ReportData, exact: ExactData) -> str:
    b = exact.best
    n = exact.hidden
    full = float(b.filter(pl.col("k") == n)["best_loss"][0])
    parts = []
    for k in (4, 6, 8):
        row = b.filter(pl.col("k") == k)
        if len(row):
            r = row.row(0, named=True)
            within = int(r["n_within_10pct"])
            parts.append(f"{k} nodes {r['best_loss']:.3f} (median {r['median_loss']:.3f}, {within} "
                         f"mask{'s' if within != 1 else ''} within 10% of the best)")
    near = b.filter(pl.col("k") == n - 1).row(0, named=True) if n > 1 else None
    rises = [int(k) for k, prev, cur in zip(b["k"][1:], b["best_loss"][:-1], b["best_loss"][1:]) if cur > prev]
    near_text = ""
    if near:
        off = [i for i in range(n) if not (int(near["best_mask"]) >> i) & 1][0]
        change = near["best_loss"] / full - 1
        near_text = (
            f"Even the best {n - 1}-node network (node {off} off) loses {100 * change:.0f}% more than the full "
            f"network's {full:.3f}: no neuron is free to remove." if change > 0.05 else
            f"The best {n - 1}-node network (node {off} off) loses {100 * change:+.1f}% against the full "
            f"network's {full:.3f}: that neuron is all but free to remove." if change >= 0 else
            f"The best {n - 1}-node network (node {off} off) loses {100 * -change:.1f}% less than the full "
            f"network's {full:.3f}: removing node {off} helps."
        )
    rise_text = (f" The best loss is not monotone in k: it rises at k = {_join([str(k) for k in rises])}."
                 if rises else " The best loss falls with every node added.")
    maps = exact.best_maps.unique("k").sort("k")
    map_text = "; ".join(f"{k}: nodes {', '.join(str(i) for i in mask_nodes(m, n))}"
                         for k, m in zip(maps["k"].to_list(), maps["mask"].to_list()))
    best_text = f" Best subnetworks: {_join(parts)}." if parts else ""
    map_sizes = _join([f"{k}-" for k in maps["k"].to_list()]) + "node"
    below = (f" Below, the best {map_sizes} networks over the plane, coloured as F1 (p(outside), the label "
             f"circle dashed) — {map_text}." if map_text else "")
    return (
        f"Over all masks with k nodes on: the lowest, median, mean and highest test loss (log scale)."
        f"{best_text} {near_text}{rise_text}{below}"
    )


def complements(data: ReportData, exact: ExactData, keep_prob: float) -> str:
    pooled = exact.complements.filter(pl.col("k").is_null())
    pooled_corr = float(pooled["corr"][0]) if len(pooled) else float("nan")
    per_k = exact.complements.filter(pl.col("k").is_not_null() & (pl.col("n_masks") >= 3) & pl.col("corr").is_not_nan())
    lo_k, hi_k = per_k.sort("corr").row(0, named=True), per_k.sort("corr").row(-1, named=True)
    summary = exact.balance_summary
    sizes = informative_sizes(exact)
    scatter = exact.balance_samples.filter(pl.col("keep_prob") == keep_prob)
    r_scatter = float(np.corrcoef(scatter["imbalance"].to_numpy(), scatter["log_loss_vs_size"].to_numpy())[0, 1]) \
        if scatter.height > 2 else float("nan")
    within = summary.get("corr_within_size")
    cutters = summary.get("corr_within_size_and_cutters")
    supported = within is not None and cutters is not None and within > 0 and cutters > 0 \
        and summary.get("n_sizes_positive") == summary.get("n_sizes")
    verdict = (
        "The data support the guess: in every size, the more one-sided a mask's cutting nodes, the higher its "
        "loss on average, also among masks with as many cutting nodes on."
        if supported else
        "The data do not clearly support the guess: the correlation is not positive within every size, or "
        "vanishes when the number of cutting nodes is held fixed."
    )
    return (
        f"Left, pink: among all masks with k nodes on, the correlation of a mask's log loss with its "
        f"complement's (the same for k and N − k), from {lo_k['corr']:+.2f} (k = {min(lo_k['k'], exact.hidden - lo_k['k'])}) "
        f"to {hi_k['corr']:+.2f} (k = {min(hi_k['k'], exact.hidden - hi_k['k'])}); "
        f"over all {2 ** exact.hidden:,} masks pooled {pooled_corr:+.3f}: the study's surprise (F9) holds "
        f"exactly, not by accident of its {data.n_paths:,} paths. "
        f"The study guessed good pruned networks are \"balanced\"; here a mask's imbalance is the length of the "
        f"mean unit input-weight direction of its cutting (not bias-like) nodes. Left, blue: its correlation "
        f"with log loss among masks of one size, positive in {summary.get('n_sizes_positive', 0)} of the "
        f"{summary.get('n_sizes', 0)} sizes where it can vary ({sizes['corr_imbalance_log_loss'].min():.2f}–"
        f"{sizes['corr_imbalance_log_loss'].max():.2f}); over all masks, measured from the mean of their size "
        f"{within if within is not None else float('nan'):+.3f}, and of their size and number of cutting nodes "
        f"{cutters if cutters is not None else float('nan'):+.3f}. Right: the study's {scatter.height:,} masks at "
        f"p = {keep_prob:g} (those with a cutting node on), r = {r_scatter:+.2f}. {verdict}"
    )


def replication_caption(summary: pl.DataFrame) -> str:
    n = summary.height
    words = {2: "Two", 3: "Three", 4: "Four", 5: "Five", 6: "Six"}
    intro = (
        f"{words.get(n, str(n))} networks trained alike from different seeds (run 0 is the network of every "
        f"figure above), side by side in the headline numbers of the figures above; exact values come from all "
        f"{2 ** int(summary['hidden'].max()):,} masks of each. "
        if n > 1 else
        "One network only: train several (--train-seeds 0,1,2,3,4) to tell its findings from luck. "
    )
    return intro + replication.sentence(summary) + " " + replication.ranges(summary)
