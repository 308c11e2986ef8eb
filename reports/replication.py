"""Replication: the headline numbers of every trained network side by side (replication_summary),
each with the study's value and a verdict — does the study's finding hold for every network?"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import polars as pl

from reports.htmltools import table
from reports.tables import _num


@dataclass
class Finding:
    column: str
    label: str
    study: str
    digits: int = 3
    # the study's finding as a test of one network's value (None: a number to compare, no claim)
    claim: Callable[[float], bool] | None = None
    claim_text: str = ""


FINDINGS = [
    Finding("test_loss", "full-network test loss", "0.117", 4),
    Finding("exact_mean_loss_p25", "E[loss] at p = ¼ (exact)", "1.028 (sampled)"),
    Finding("exact_mean_loss_p75", "E[loss] at p = ¾ (exact)", "0.584 (sampled)"),
    Finding("skew_loss_p50", "skewness of loss at p = ½", "right-skewed", 2,
            lambda v: v > 0, "the loss is right-skewed"),
    Finding("skew_log_loss_p50", "skewness of log loss at p = ½", "≈ 0 (log-normal)", 2,
            lambda v: abs(v) < 0.5, "log loss is near normal (|skewness| < 0.5)"),
    Finding("kurt_log_loss_p50", "excess kurtosis of log loss at p = ½", "≈ 0 (log-normal)", 2,
            lambda v: abs(v) < 1, "log loss has near-normal tails (|excess kurtosis| < 1)"),
    Finding("kurt_grad_p50", "excess kurtosis of ∂loss/∂on_i at p = ½", "> 0 (peaked, heavy tails)", 2,
            lambda v: v > 0, "the gradient is heavier-tailed than a normal"),
    Finding("sanity_ratio", "sanity check ratio (sampled)", "1.072", 3,
            lambda v: abs(v - 1) < 0.1, "the sanity check comes within 10% of 1"),
    Finding("sanity_ratio_exact", "sanity check ratio (exact)", "—", 3),
    Finding("decay_length", "flips until the path correlation is noise", "~5–6", 0),
    Finding("complement_corr_paths", "complement correlation, flip paths", "positive", 3,
            lambda v: v > 0, "a mask's log loss correlates positively with its complement's"),
    Finding("complement_corr", "complement correlation, all masks (exact)", "—", 3),
    Finding("n_bias_like", "bias-like nodes", "4 (nodes 0, 9, 10, 19)", 0,
            lambda v: v > 0, "some nodes act as biases"),
    Finding("top_node", "most helpful node (most negative Shapley)", "—", 0),
    Finding("top3_nodes", "Shapley top 3", "—"),
    Finding("spearman_shapley_mean_grad_sampled", "Spearman ρ with Shapley: mean gradient, study's masks", "—", 2),
    Finding("spearman_shapley_grad_full", "… gradient of the full network", "—", 2),
    Finding("spearman_shapley_knockout", "… single knockout", "—", 2),
    Finding("best_loss_6", "best 6-node loss", "—", 4),
    Finding("cheapest_knockout_increase", "cheapest single knockout: loss increase", "+1.7% (node 14)", 3,
            lambda v: v < 0.05, "some single node can be removed almost for free (< 5% more loss)"),
    Finding("mean_loss_rises", "steps of p (0.05 apart) where E[loss] rises", "falls from p = ¼ to ¾", 0),
    Finding("best_loss_rises", "sizes k where the best loss rises", "—", 0),
    Finding("balance_corr_within_size", "corr(imbalance, log loss) within sizes", "> 0 (conjecture)", 3,
            lambda v: v > 0, "balanced masks lose less than others of their size"),
    Finding("balance_corr_within_size_and_cutters", "… within sizes and cutter counts", "> 0 (conjecture)", 3,
            lambda v: v > 0, "and than others with as many cutting nodes on"),
]


def _cell(value, finding: Finding) -> str:
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if finding.column == "cheapest_knockout_increase":
        return f"{100 * float(value):+.1f}%".replace("-", "−")
    return _num(value, finding.digits)


def verdicts(summary: pl.DataFrame) -> dict[str, tuple[int, int]]:
    """For each finding with a claim: (networks where it holds, networks with a value)."""
    out = {}
    for f in FINDINGS:
        if f.claim is None or f.column not in summary.columns:
            continue
        values = [v for v in summary[f.column].to_list() if v is not None]
        out[f.column] = (sum(bool(f.claim(float(v))) for v in values), len(values))
    return out


def _verdict_text(holds: int, total: int) -> str:
    if total == 0:
        return "—"
    if holds == total:
        return f"holds in all {total}" if total > 1 else "holds"
    if holds == 0:
        return f"fails in all {total}" if total > 1 else "fails"
    return f"holds in {holds} of {total}"


def replication_table(summary: pl.DataFrame) -> str:
    seeds = summary["train_seed"].to_list()
    run_ids = summary["run_id"].to_list()
    columns = ["quantity", "study"] + [f"run {r} (seed {s})" for r, s in zip(run_ids, seeds)] + ["the study's finding"]
    judged = verdicts(summary)
    rows = []
    for f in FINDINGS:
        if f.column not in summary.columns:
            continue
        verdict = _verdict_text(*judged[f.column]) if f.column in judged else ""
        rows.append([f.label, f.study] + [_cell(v, f) for v in summary[f.column].to_list()] + [verdict])
    return table(columns, rows, table_id="replication-table", numeric=set(range(2, 2 + len(seeds))))


def sentence(summary: pl.DataFrame) -> str:
    """Which of the study's findings hold for every network, which for none, which for some."""
    judged = verdicts(summary)
    claims = {f.column: f.claim_text for f in FINDINGS if f.claim is not None}
    n = summary.height
    every = [claims[c] for c, (h, t) in judged.items() if t and h == t]
    none = [claims[c] for c, (h, t) in judged.items() if t and h == 0]
    some = [f"{claims[c]} ({h} of {t})" for c, (h, t) in judged.items() if t and 0 < h < t]
    parts = []
    if every:
        parts.append(f"Holds for {'every one of the ' + str(n) + ' networks' if n > 1 else 'this network'}: "
                     + "; ".join(every) + ".")
    if some:
        parts.append("Holds for some networks only — luck of the network: " + "; ".join(some) + ".")
    if none:
        parts.append(("Fails for every network, so it belonged to the study's own network, not to networks "
                      "trained this way: " if n > 1 else "Fails for this network: ") + "; ".join(none) + ".")
    return " ".join(parts)


def _range(summary: pl.DataFrame, column: str, digits: int = 0) -> str:
    values = [float(v) for v in summary[column].to_list() if v is not None]
    if not values:
        return "—"
    lo, hi = min(values), max(values)
    if round(lo, digits) == round(hi, digits):
        return f"{lo:.{digits}f}".replace("-", "−")
    if lo < 0:  # "−0.73–0.87" reads as a subtraction
        return f"from {lo:.{digits}f} to {hi:.{digits}f}".replace("-", "−")
    return f"{lo:.{digits}f}–{hi:.{digits}f}"


def ranges(summary: pl.DataFrame) -> str:
    """The numbers without a yes/no claim, as ranges over the networks."""
    tops = ", ".join(str(v) for v in summary["top_node"].to_list())
    decay = _range(summary, "decay_length")
    best6 = _range(summary, "best_loss_6", 3)
    parts = [
        f"the path correlation falls to noise after {decay} flip{'' if decay == '1' else 's'} (the study saw ~5–6)",
        f"{_range(summary, 'n_bias_like')} nodes act as biases (the study: 4)",
        f"the best 6-node network reaches a loss of {best6}" if best6 != "—" else "",
        f"E[loss] rises with p at {_range(summary, 'mean_loss_rises')} of the small steps of p before it falls",
        f"the most helpful node by Shapley value is node {tops} (node numbers are each network's own, so only "
        f"the values compare)",
        f"ranked against the Shapley values, the mean gradient over the study's masks scores Spearman ρ "
        f"{_range(summary, 'spearman_shapley_mean_grad_sampled', 2)}, the single knockout "
        f"{_range(summary, 'spearman_shapley_knockout', 2)} and the full network's gradient "
        f"{_range(summary, 'spearman_shapley_grad_full', 2)}",
    ]
    return "Without a yes/no: " + "; ".join(p for p in parts if p) + "."
