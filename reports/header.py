"""The page header: what the study is, the network, the label rule, the config, study vs this run."""

from __future__ import annotations

import math
from html import escape

from reports import tables
from reports.data import ReportData

RULES = {
    "code": "outside iff x0² + x1² > √(2/π) — the study's printed code, so the circle's radius is (2/π)^¼",
    "intent": "outside iff x0² + x1² > 2/π — the study's comment, a circle of radius √(2/π) holding half the square",
}


def _which_run(data: ReportData) -> str:
    run_id = data.run["run_id"]
    if len(data.run_ids) == 1:
        return f"This page shows run {run_id}, the store's only network."
    others = ", ".join(str(r) for r in data.run_ids if r != run_id)
    return (f"This page shows run {run_id} (train seed {data.run.get('train_seed', '?')}); the store also holds "
            f"runs {others} (python -m reports.build --run-id ID shows another).")


def header(data: ReportData, kernel_width: float) -> str:
    run, cfg = data.run, data.config
    radius = float(run["radius"])
    outside = 1 - math.pi * radius**2 / 4 if radius <= 1 else float("nan")
    rule = str(run["label_rule"])
    facts = [
        ("network", f"2 inputs → {data.hidden} ReLU neurons, each × its mask entry on_i → 2 softmax outputs"),
        ("label rule", f"'{rule}': {RULES.get(rule, rule)}; radius {radius:.4f}, {100 * outside:.0f}% of [−1, 1]² outside"),
        ("training", f"{cfg.get('train_points', '?')} points, {cfg.get('epochs', '?')} epochs, RMSprop, batch {cfg.get('batch_size', '?')}, seed {run.get('train_seed', '?')}"),
        ("full network", f"train loss {float(run['train_loss']):.4f} ({100 * float(run['train_accuracy']):.1f}%), test loss {float(run['test_loss']):.4f} ({100 * float(run['test_accuracy']):.1f}%)"),
        ("test set", f"{len(data.test_labels)} points (numpy seed {cfg.get('test_seed', '?')}, as in the study)"),
        ("sampled masks", f"{int(data.loss_stats['n'].sum())} (numpy seed {cfg.get('mask_seed', '?')}); p = {', '.join(f'{p:g}' for p in data.keep_probs)}"),
        ("flip paths", f"{data.n_paths} (seed {cfg.get('path_seed', '?')})"),
        ("density smoothing", f"Gaussian kernel, width {kernel_width:g}"),
    ]
    fact_html = "".join(f"<div><b>{escape(k)}</b>: {escape(v)}</div>" for k, v in facts)
    return f"""
<header>
<h1>Knockout: what a tiny network does when neurons are switched off</h1>
<p class="lede">A reproduction of a blog post that trains a network with two inputs and {data.hidden} hidden ReLU
neurons to tell whether a point of the square [−1, 1]² lies outside a circle, then knocks neurons out — each kept
independently with probability p — and studies the test loss, its gradient with respect to each neuron's on/off
switch, and how the loss changes along paths that flip one neuron at a time. Figure numbers F1–F11 follow the
study; the sections after the single-knockout table go beyond it, answering exactly from all {2 ** data.hidden:,}
masks and comparing every trained network. {escape(_which_run(data))}</p>
<div class="facts">{fact_html}</div>
<h2 id="study-vs-run-title">The study vs this run</h2>
<p class="caption">The same test points and the same 3,000 sampled masks as the study (its numpy seeds), but a
network trained afresh, so numbers close to the study's show the findings do not hang on one training run.
Node numbers are this run's own: the study's node 14 is not ours.</p>
{tables.study_vs_run(data)}
<details><summary>full configuration</summary>{tables.config(data)}</details>
</header>
"""
