"""Replication: the headline numbers of every trained network side by side (replication_summary), each
with the study's value (study_findings) and a verdict — does the study's finding hold for every network?

The verdicts apply Knockout's own yardsticks, each stated in the page's words with its finding."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import polars as pl

from reports import fmt
from reports.sections import Section, missing
from reports.sections.sizes import NEARLY_FREE
from reports.tables import table

QUERIES = {
    "summary": "select * from replication_summary order by run_id",
    "study": "select * from study_findings",
    "ranges": "select * from replication_ranges",
    "sanity": "select * from sanity_vs_study where run_id = $run",
    "grid_step": "select value from study_reference where key = 'exact_keep_prob_step'",
    "decay": "select run_id, decay_length_exact, min_paths_study, max_paths_study from decay_comparison",
    # the shape of log loss and gradient at each of the study's p (ctx.study_probs, which the exact grid holds
    # exactly), by the one yardstick of exact_tails; a list parameter lets the filter reach the histogram
    "tails": """
        select * from exact_tails
        where quantity in ('log_loss', 'grad') and list_contains($probs, keep_prob)
        order by quantity desc, keep_prob, run_id
    """,
}
TAIL_QUANTITIES = {"log_loss": "log loss", "grad": "∂loss/∂on_i"}


@dataclass
class Finding:
    column: str
    label: str
    study: str = "—"
    digits: int = 3
    # the study's finding as a test of one network's value (None: a number to compare, no claim)
    claim: Callable[[object], bool] | None = None
    claim_text: str = ""
    # where the claim is tested ("p = 0.25"): findings with the same claim_text are told as one, at each place
    where: str = ""
    # how a cell shows a value that is not a plain number (a pair of numbers, a range)
    render: Callable[[object], str] | None = None
    # a few words after the verdict, from the values of every network
    note: Callable[[list], str] | None = None


def study_text(row: dict | None, digits: int) -> str:
    """The study's value of a finding as study_findings gives it: a number, a range, the nodes it names."""
    if not row or row["study_value"] is None:
        return "—"
    value = fmt.num(row["study_value"], digits)
    if row["study_value_high"] is not None:
        value = f"~{value}–{fmt.num(row['study_value_high'], digits)}"
    return value


def tails_frame(ctx) -> pl.DataFrame:
    return ctx.wh.frame(QUERIES["tails"], {"probs": ctx.study_probs})


def tail_column(quantity: str, keep_prob: float) -> str:
    return f"tails_{quantity}_{keep_prob:g}"


def tail_findings(ctx, study: dict) -> list[Finding]:
    """Log loss and gradient judged by one yardstick at each of the study's p: excess kurtosis and the share
    beyond a few standard deviations (exact_tails); the study's claim for each — log loss near normal, the
    gradient heavier-tailed — is tested on both measures' verdicts, and the other verdict is noted."""
    tails = tails_frame(ctx)
    if tails.is_empty():
        return []
    yard = tails.row(0, named=True)
    sigmas, normal, near = yard["tail_sigmas"], fmt.pct(yard["normal_tail_share"], 2), yard["near_normal_kurtosis"]
    words = {"heavier": "heavier", "lighter": "lighter", "mixed": "mixed"}

    def render(v) -> str:
        # two decimals even for a kurtosis near 0, as the neighbouring cells
        return f"{fmt.signed(round(v['kurtosis'], 2) + 0.0)}, {fmt.pct(v['tail_share'], 2)}"

    def tails_note(values: list) -> str:
        counts: dict[str, int] = {}
        for v in values:
            counts[v["tails"]] = counts.get(v["tails"], 0) + 1
        return "tails " + ", ".join(f"{words[t]} in {count_text(c, len(values))}" for t, c in counts.items())

    def near_note(values: list) -> str:
        return f"near normal in {count_text(sum(bool(v['near_normal']) for v in values), len(values))}"

    listed = []
    for quantity in TAIL_QUANTITIES:
        for p in tails.filter(pl.col("quantity") == quantity)["keep_prob"].unique(maintain_order=True):
            label = (f"{TAIL_QUANTITIES[quantity]} at the study's p = {fmt.prob(p)}: excess kurtosis, share beyond "
                     f"{sigmas:g}σ (exact)")
            if quantity == "log_loss":
                listed.append(Finding(
                    tail_column(quantity, p), label, "≈ 0 (log-normal)", claim=lambda v: bool(v["near_normal"]),
                    claim_text=f"log loss is near normal (|excess kurtosis| < {near:g})",
                    where=f"p = {fmt.prob(p)}", render=render, note=tails_note))
            else:
                listed.append(Finding(
                    tail_column(quantity, p), label, "> 0 (peaked, heavy tails)",
                    claim=lambda v: v["tails"] == "heavier",
                    claim_text=(f"the gradient is heavier-tailed than a normal (excess kurtosis > 0 and more than "
                                f"{normal} beyond {sigmas:g}σ)"),
                    where=f"p = {fmt.prob(p)}", render=render,
                    note=lambda values: tails_note(values) + "; " + near_note(values)))
    return listed


def decay_findings(ctx, study: dict) -> list[Finding]:
    """The decay of the path correlation under one rule, |r| < 2/√n: the sampled curve and the exact curve
    with this store's n, and the n for which the exact curve gives the study's number."""
    ranges = ctx.wh.frame(QUERIES["ranges"]).row(0, named=True)
    n = ranges["n_paths"]
    rule = f"sampled, n = {n:,} paths" if n else "sampled paths"
    decay_study = study_text(study.get("decay_length"), 0)

    def paths(v) -> str:
        return f"{v['low']:,}–{v['high']:,}" if v and v["low"] is not None else "—"

    return [
        Finding("decay_length", f"first k where the path correlation is noise, |r| < 2/√n: {rule}", decay_study, 0),
        Finding("decay_length_exact", "… the exact curve, same rule and n", "—", 0),
        Finding("paths_study", f"… the n for which the exact curve gives the study's {decay_study.lstrip('~')}",
                "—", render=paths),
    ]


def count_text(count: int, total: int) -> str:
    if total > 1 and count == total:
        return f"all {total}"
    return "none" if count == 0 and total > 1 else f"{count} of {total}"


def with_views(ctx, summary: pl.DataFrame) -> pl.DataFrame:
    """replication_summary with, per run, the exact tails at the study's p (exact_tails) and the decay under
    one rule (decay_comparison), as the table's columns."""
    decay = ctx.wh.frame(QUERIES["decay"]).select(
        "run_id", "decay_length_exact",
        pl.struct(pl.col("min_paths_study").alias("low"), pl.col("max_paths_study").alias("high")).alias("paths_study"))
    out = summary.join(decay, on="run_id", how="left")
    tails = tails_frame(ctx)
    for (quantity, p), group in tails.group_by(["quantity", "keep_prob"], maintain_order=True):
        out = out.join(group.select("run_id", pl.struct("kurtosis", "tail_share", "tails", "near_normal")
                                    .alias(tail_column(quantity, p))), on="run_id", how="left")
    return out


def findings(ctx) -> list[Finding]:
    study = {r["finding"]: r for r in ctx.wh.frame(QUERIES["study"]).iter_rows(named=True)}
    sanity = ctx.wh.run_row(QUERIES["sanity"])
    ranges = ctx.wh.frame(QUERIES["ranges"]).row(0, named=True)
    step = ctx.wh.frame(QUERIES["grid_step"])["value"].to_list()

    def at(finding: str) -> str:
        p = (study.get(finding) or {}).get("keep_prob")
        return f"at the study's p = {fmt.prob(p)}" if p is not None else ""

    if sanity.get("ratio") is None:
        sanity_label, sanity_study = "sanity check ratio (needs two keep probabilities)", "—"
    else:
        sanity_label = (f"sanity check ratio, sampled (p = {fmt.prob(sanity['p_low'])} to "
                        f"{fmt.prob(sanity['p_high'])}, gradient at {fmt.prob(sanity['p_half'])})")
        sanity_study = study_text(study.get("sanity_ratio"), 3) if sanity["same_probs_as_study"] else "— (other p)"
    # a verdict only where the check is the study's own, at its keep probabilities
    sanity_claim = ({"claim": lambda v: abs(v - 1) < 0.1, "claim_text": "the sanity check comes within 10% of 1"}
                    if sanity.get("same_probs_as_study") else {})
    bias = study.get("n_bias_like") or {}
    bias_study = study_text(bias, 0) + (f" (nodes {fmt.join(bias['study_nodes'])})" if bias.get("study_nodes") else "")
    cheapest = study.get("cheapest_knockout_increase") or {}
    cheapest_study = (fmt.pct(cheapest.get("study_value"), 1, sign=True)
                      + (f" (node {fmt.join(cheapest['study_nodes'])})" if cheapest.get("study_nodes") else ""))
    return [
        Finding("test_loss", "full-network test loss", study_text(study.get("test_loss"), 3), 4),
        Finding("exact_mean_loss_p25", f"E[loss] {at('exact_mean_loss_p25')} (exact)",
                f"{study_text(study.get('exact_mean_loss_p25'), 3)} (sampled)"),
        Finding("exact_mean_loss_p75", f"E[loss] {at('exact_mean_loss_p75')} (exact)",
                f"{study_text(study.get('exact_mean_loss_p75'), 3)} (sampled)"),
        Finding("skew_loss_p50", f"skewness of loss {at('skew_loss_p50')} (exact)", "right-skewed", 2,
                lambda v: v > 0, "the loss is right-skewed"),
        Finding("skew_log_loss_p50", f"skewness of log loss {at('skew_log_loss_p50')} (exact)", "≈ 0 (log-normal)", 2,
                lambda v: abs(v) < 0.5, "log loss is near normal (|skewness| < 0.5)"),
        *tail_findings(ctx, study),
        Finding("sanity_ratio", sanity_label, sanity_study, 3, **sanity_claim),
        Finding("sanity_ratio_exact", "sanity check ratio, exact (same p)", "—", 3),
        *decay_findings(ctx, study),
        Finding("complement_corr_paths", "complement correlation, flip paths", "positive", 3,
                lambda v: v > 0, "a mask's log loss correlates positively with its complement's"),
        Finding("complement_corr", "complement correlation, all masks (exact)", "—", 3),
        Finding("n_bias_like", "bias-like nodes", bias_study, 0, lambda v: v > 0, "some nodes act as biases"),
        Finding("top_node", "most helpful node (most negative Shapley)", "—", 0),
        Finding("top3_nodes", "Shapley top 3"),
        Finding("spearman_shapley_mean_grad_sampled", "Spearman ρ with Shapley: mean gradient, sampled masks", "—", 2),
        Finding("spearman_shapley_grad_full", "… gradient of the full network", "—", 2),
        Finding("spearman_shapley_knockout", "… single knockout", "—", 2),
        Finding("best_loss_map_k", f"best {ranges['map_k']}-node loss" if ranges["map_k"] else "best subnetwork loss",
                "—", 4),
        Finding("cheapest_knockout_increase", "cheapest single knockout: loss increase", cheapest_study, 3,
                lambda v: v < NEARLY_FREE,
                f"some single node can be removed almost for free (< {fmt.pct(NEARLY_FREE)} more loss)"),
        Finding("mean_loss_rises", f"steps of p on the exact grid ({fmt.prob(step[0]) if step else '—'} apart) "
                                   f"where E[loss] rises", "falls as p grows", 0),
        Finding("best_loss_rises", "sizes k where the best loss rises", "—", 0),
        Finding("balance_corr_within_size", "corr(imbalance, log loss) within sizes", "> 0 (conjecture)", 3,
                lambda v: v > 0, "balanced masks lose less than others of their size"),
        Finding("balance_corr_within_size_and_cutters", "… within sizes and cutter counts", "> 0 (conjecture)", 3,
                lambda v: v > 0, "and than others with as many cutting nodes on"),
    ]


def cell(value, finding: Finding) -> str:
    if value is None:
        return "—"
    if finding.render is not None:
        return finding.render(value)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if finding.column == "cheapest_knockout_increase":
        return fmt.pct(value, 1, sign=True)
    return fmt.num(value) if finding.digits == 0 else fmt.fixed(value, finding.digits)


def verdicts(summary: pl.DataFrame, listed: list[Finding]) -> dict[str, tuple[int, int]]:
    """For each finding with a claim: (networks where it holds, networks with a value)."""
    out = {}
    for f in listed:
        if f.claim is None or f.column not in summary.columns:
            continue
        values = [v for v in summary[f.column].to_list() if not missing(v)]
        out[f.column] = (sum(bool(f.claim(v)) for v in values), len(values))
    return out


def verdict_text(holds: int, total: int) -> str:
    if total == 0:  # no network has the statistic (one node, one path, no spread): nothing to test
        return "not defined"
    if holds == total:
        return f"holds in all {total}" if total > 1 else "holds"
    if holds == 0:
        return f"fails in all {total}" if total > 1 else "fails"
    return f"holds in {holds} of {total}"


def replication_table(summary: pl.DataFrame, listed: list[Finding]):
    # a network loaded with --model has no train seed (null)
    columns = (["quantity", "study"] + [f"run {r} (seed {s})" if s is not None else f"run {r} (loaded)"
                                        for r, s in zip(summary["run_id"], summary["train_seed"])]
               + ["the study's finding"])
    judged = verdicts(summary, listed)
    def verdict(f: Finding) -> str:
        text = verdict_text(*judged[f.column]) if f.column in judged else ""
        if f.note is not None:
            values = [v for v in summary[f.column].to_list() if not missing(v)]
            text += f" ({f.note(values)})" if values else ""
        return text

    rows = [[f.label, f.study] + [cell(v, f) for v in summary[f.column].to_list()] + [verdict(f)]
            for f in listed if f.column in summary.columns]
    return table(columns, rows, table_id="replication-table", numeric=set(range(2, 2 + summary.height)))


def sentence(summary: pl.DataFrame, listed: list[Finding]) -> str:
    """Which of the study's findings hold for every network, which for none, which for some; a claim tested
    at several places (the study's p) is told once, with the places."""
    judged = verdicts(summary, listed)
    n = summary.height
    buckets: dict[str, dict[tuple, list[str]]] = {"every": {}, "some": {}, "none": {}}
    undefined: list[str] = []
    for f in listed:
        if f.column not in judged:
            continue
        holds, total = judged[f.column]
        if not total:
            undefined.append(f.claim_text + (f" at the study's {f.where}" if f.where else ""))
            continue
        bucket = "every" if holds == total else "none" if holds == 0 else "some"
        key = (f.claim_text, (holds, total) if bucket == "some" else None)
        buckets[bucket].setdefault(key, []).append(f.where)

    def told(bucket: str) -> list[str]:
        out = []
        for (text, counts), wheres in buckets[bucket].items():
            places = [w for w in wheres if w]
            if places:
                text += f" at the study's {fmt.join(places)}" if len(places) == 1 else \
                    " at the study's p = " + fmt.join(w.removeprefix("p = ") for w in places)
            out.append(text + (f" ({counts[0]} of {counts[1]})" if counts else ""))
        return out

    every, some, none = told("every"), told("some"), told("none")
    parts = []
    if every:
        parts.append(f"Holds for {'every one of the ' + str(n) + ' networks' if n > 1 else 'this network'}: "
                     + "; ".join(every) + ".")
    if some:
        parts.append("Holds for some networks only — luck of the network: " + "; ".join(some) + ".")
    if none:
        parts.append(("Fails for every network, so it belonged to the study's own network, not to networks "
                      "trained this way: " if n > 1 else "Fails for this network: ") + "; ".join(none) + ".")
    if undefined:
        parts.append(f"Not defined for {'any network' if n > 1 else 'this network'} (its statistic needs more "
                     f"nodes, paths or spread than this run has): " + "; ".join(undefined) + ".")
    return " ".join(parts)


def yardstick_text(ctx) -> str:
    """The one yardstick of the shape findings, in words, from exact_tails."""
    tails = tails_frame(ctx)
    if tails.is_empty():
        return ""
    y = tails.row(0, named=True)
    return (
        f"The two shape findings are judged by one yardstick, for log loss and gradient alike, at each of the "
        f"study's p (cells: excess kurtosis, share beyond {y['tail_sigmas']:g}σ, of the exact distribution): "
        f"excess kurtosis is 0 for a normal, and a normal puts {fmt.pct(y['normal_tail_share'], 2)} of its "
        f"probability beyond {y['tail_sigmas']:g} standard deviations; near normal means |excess kurtosis| < "
        f"{y['near_normal_kurtosis']:g}, and tails are heavier than a normal's when both measures are above a "
        f"normal's, lighter when both are below. "
    )


def decay_text(r: dict, study: dict) -> str:
    """The decay of the path correlation under one rule, |r| < 2/√n, for both curves and the study's number."""
    decay = fmt.span(r["min_decay_length"], r["max_decay_length"], 0)
    decay_study = study_text(study.get("decay_length"), 0).lstrip("~")
    n = r.get("n_paths")
    rule = "|r| < 2/√n for n paths" + (f", here n = {n:,}" if n else "")
    if r["min_decay_length"] is not None:
        text = f"under one rule ({rule}) the sampled path correlation falls to noise after {decay} flips"
    elif n is not None and n < 2:
        text = (f"under one rule ({rule}) the sampled path correlation would fall to noise at some k, but with "
                f"one path it is not defined (a correlation needs two)")
    else:
        text = f"under one rule ({rule}) the sampled path correlation never falls to noise along the path"
    if r.get("min_decay_length_exact") is None:
        return text + (f" (the study saw {decay_study})" if decay_study != "—" else "")
    text += f" and the exact one after {fmt.span(r['min_decay_length_exact'], r['max_decay_length_exact'], 0)}"
    if decay_study == "—":
        return text
    if r.get("min_paths_study_every") is not None:
        return text + (f"; the exact curves of all {r['n_runs']} networks give the study's {decay_study} with "
                       f"{r['min_paths_study_every']:,}–{r['max_paths_study_every']:,} paths, so the study's number "
                       f"says how many paths it drew, not that its network forgot faster")
    return text + f"; no one number of paths makes every exact curve give the study's {decay_study}"


def spearman_text(r: dict) -> str:
    """How the cheap scores rank the nodes against the Shapley values; a rank correlation needs two nodes
    whose scores differ, so where none has one the sentence says so."""
    def rho(name: str) -> str:
        low, high = r[f"min_spearman_{name}"], r[f"max_spearman_{name}"]
        if missing(low):
            return "not defined (it ties every node)"
        if missing(high):  # NaN sorts above every number: some network has none
            return f"{fmt.fixed(low, 2)} (not defined for some networks, where it ties every node)"
        return fmt.span(low, high, 2)

    names = ("mean_grad_sampled", "knockout", "grad_full")
    if all(missing(r[f"min_spearman_{name}"]) for name in names):
        return ("no cheap score can be ranked against the Shapley values: a rank correlation needs two nodes "
                "whose scores differ")
    return (f"ranked against the Shapley values, the mean gradient over the sampled masks scores Spearman ρ "
            f"{rho('mean_grad_sampled')}, the single knockout {rho('knockout')} and the full network's gradient "
            f"{rho('grad_full')}")


def ranges_text(ctx) -> str:
    """The numbers without a yes/no claim, as ranges over the networks (replication_ranges)."""
    word = "node" if len(ctx.layers) == 1 else "unit"
    r = ctx.wh.frame(QUERIES["ranges"]).row(0, named=True)
    study = {row["finding"]: row for row in ctx.wh.frame(QUERIES["study"]).iter_rows(named=True)}
    bias_study = study_text(study.get("n_bias_like"), 0)
    parts = [
        decay_text(r, study),
        f"{fmt.span(r['min_n_bias_like'], r['max_n_bias_like'], 0)} nodes act as biases"
        + (f" (the study: {bias_study})" if bias_study != "—" else ""),
        f"the best {r['map_k']}-node network reaches a loss of "
        f"{fmt.span(r['min_best_loss_map_k'], r['max_best_loss_map_k'])}" if r["map_k"] is not None else "",
        f"E[loss] rises with p at {fmt.span(r['min_mean_loss_rises'], r['max_mean_loss_rises'], 0)} of the steps "
        f"along the exact grid of p",
        f"the most helpful {word} by Shapley value is {word} {', '.join(ctx.unit_label(n) for n in r['top_nodes'])} "
        f"({word} numbers are each network's own, so only the values compare)",
        spearman_text(r),
    ]
    return "Without a yes/no: " + "; ".join(p for p in parts if p) + "."


def caption(ctx, summary: pl.DataFrame, listed: list[Finding]) -> str:
    n = summary.height
    intro = (
        f"{fmt.number_word(n)} networks trained alike from different seeds (run {ctx.run_id} is the network of "
        f"every figure above), side by side in the headline numbers of the figures above; exact values come from "
        f"all {ctx.n_masks:,} masks of each. "
        if n > 1 else
        "One network only: train several (--train-seeds 0,1,2,3,4) to tell its findings from luck. "
    )
    return intro + yardstick_text(ctx) + sentence(summary, listed) + " " + ranges_text(ctx)


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    if ctx.sweep_page:  # networks of different kinds: set side by side per kind, on the sweep page
        return Section("replication", "Replication: which findings hold for every network",
                       f"This store is a sweep of networks of different kinds, so its networks are not "
                       f"replications of this one: {ctx.sweep_page} sets each statistic and each of the study's "
                       f"findings against width, per kind of network, with the spread over seeds.",
                       nav="replication")
    summary = with_views(ctx, ctx.wh.frame(QUERIES["summary"]))
    listed = findings(ctx)
    return Section("replication", "Replication: which findings hold for every network", caption(ctx, summary, listed),
                   after=replication_table(summary, listed), nav="replication")
