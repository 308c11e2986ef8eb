"""The page's tables: study vs this run, T1, T2, the sanity check, single knockouts, the configuration."""

from __future__ import annotations

import json

from reports.data import ReportData
from reports.htmltools import table


def _num(value, digits: int = 4, sign: bool = False) -> str:
    """Counts as integers, other numbers to `digits` decimals, with a true minus sign."""
    if value is None:
        return "—"
    value = float(value)
    text = f"{value:{'+' if sign else ''}.{0 if value.is_integer() else digits}f}"
    return text.replace("-", "−")


def study_vs_run(data: ReportData) -> str:
    rows = [
        [r["quantity"], _num(r["study"]), _num(r["ours"]), r["note"] or ""]
        for r in data.comparison.iter_rows(named=True)
    ]
    return table(["quantity", "study", "this run", "note"], rows, table_id="study-vs-run", numeric={1, 2})


def t1_log_loss(data: ReportData) -> str:
    rows = [
        [f"{r['keep_prob']:g}", r["n"], _num(r["mean_loss"]), _num(r["std_loss"]),
         _num(r["mean_log_loss"]), _num(r["std_log_loss"]), r["distinct_masks"], r["all_on_count"]]
        for r in data.loss_stats.iter_rows(named=True)
    ]
    columns = ["p", "masks", "mean loss", "std loss", "mean log loss", "std log loss", "distinct masks", "all-on masks"]
    return table(columns, rows, table_id="t1", numeric=set(range(8)))


def t2_gradients(data: ReportData) -> str:
    rows = [
        [f"{r['keep_prob']:g}", r["n"], _num(r["mean_grad"]), _num(r["std_grad"]),
         _num(r["mean_grad_log"]), _num(r["std_grad_log"])]
        for r in data.grad_stats.iter_rows(named=True)
    ]
    columns = ["p", "(mask, node) pairs", "mean ∂loss/∂on_i", "std", "mean ∂ln(loss)/∂on_i", "std"]
    return table(columns, rows, table_id="t2", numeric=set(range(6)))


def sanity_check(data: ReportData) -> str:
    s = data.sanity
    if not s:
        return ""
    rows = [
        ["mean gradient at p = ½ (pooled over nodes)", _num(s["mean_grad_half"]), "−0.0475"],
        [f"× N × (highest p − lowest p) = {s['scale']:g}", _num(s["scaled_mean_grad"]), "−0.4751"],
        [f"mean loss at p = {max(data.keep_probs):g} minus at p = {min(data.keep_probs):g}",
         _num(s["loss_difference"]), "−0.4434"],
        ["ratio", _num(s["ratio"], 3), "1.072"],
    ]
    return table(["sanity check", "this run", "study"], rows, table_id="sanity", numeric={1, 2})


def single_knockouts(data: ReportData) -> str:
    rows = [
        [r["node"], _num(r["loss_only_off"]), _num(r["knockout_effect"], sign=True), _num(r["loss_only_on"]), r["harm_rank"]]
        for r in data.knockouts.iter_rows(named=True)
    ]
    columns = ["node", "loss, only this node off", "change vs all on", "loss, only this node on", "harm rank"]
    return table(columns, rows, table_id="knockout-table", numeric=set(range(5)), sortable=True)


def config(data: ReportData) -> str:
    rows = [[key, json.dumps(value)] for key, value in sorted(data.config.items())]
    return table(["setting", "value"], rows, table_id="config")



def sampled_vs_exact(exact) -> str:
    """T3: the study's sampled means and standard deviations beside the exact ones (sampled_vs_exact)."""
    rows = [
        [f"{r['keep_prob']:g}", r["n"], _num(r["mean_loss_sampled"]), _num(r["mean_loss_exact"]),
         _num(r["z_mean_loss"], 2, sign=True), _num(r["std_loss_sampled"]), _num(r["std_loss_exact"]),
         _num(r["mean_log_loss_sampled"]), _num(r["mean_log_loss_exact"]), _num(r["z_mean_log_loss"], 2, sign=True),
         _num(r["mean_grad_sampled"]), _num(r["mean_grad_exact"])]
        for r in exact.sampled_vs_exact.iter_rows(named=True)
    ]
    columns = ["p", "masks", "mean loss, sampled", "exact", "z", "std loss, sampled", "exact",
               "mean log loss, sampled", "exact", "z", "mean ∂loss/∂on_i, sampled", "exact"]
    return table(columns, rows, table_id="t3", numeric=set(range(12)))
