"""F1: the interactive knockout heat map — its data payload and its HTML (the drawing is heatmap.js)."""

from __future__ import annotations

import base64
from html import escape
from pathlib import Path

import numpy as np

from reports.data import ReportData
from reports.htmltools import json_script

SCRIPT = Path(__file__).with_name("heatmap.js")
CANVAS_SIZE = 500


def _b64(array: np.ndarray) -> str:
    """float32 little-endian bytes as base64: a quarter of the size of the same numbers as JSON text."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def payload(data: ReportData) -> dict:
    grid = data.grid
    side = data.grid_size
    # The page indexes the contributions as (grid_j · side + grid_i) · N + node.
    order = (grid["grid_j"].to_numpy() * side + grid["grid_i"].to_numpy()).argsort()
    xs = np.sort(np.unique(grid["x0"].to_numpy()))
    return {
        "hidden": data.hidden,
        "gridSize": side,
        "extent": [float(xs[0]), float(xs[-1])],
        "radius": float(data.run["radius"]),
        "logitBias": float(data.run["logit_bias"]),
        "gridContrib": _b64(data.grid_contrib[order]),
        "testContrib": _b64(data.test_contrib),
        "testLabels": [int(v) for v in data.test_labels],
    }


def html(data: ReportData) -> str:
    knockouts = {row["node"]: row for row in data.knockouts.iter_rows(named=True)}
    boxes = []
    for node in range(data.hidden):
        row = knockouts.get(node)
        hint = f"test loss with only node {node} off: {row['loss_only_off']:.4f}" if row and row["loss_only_off"] is not None else ""
        boxes.append(
            f'<label title="{escape(hint)}"><input type="checkbox" data-node="{node}" checked>'
            f" node {node}</label>"
        )
    full_loss = float(data.run["test_loss"])
    full_acc = float(data.run["test_accuracy"])
    return f"""
<div class="f1">
  <div>
    <canvas id="f1-canvas" width="{CANVAS_SIZE}" height="{CANVAS_SIZE}" aria-label="p(outside) over the input plane"></canvas>
    <div id="f1-readout" class="readout">&nbsp;</div>
  </div>
  <div class="f1-controls">
    <div class="f1-live">
      <div>test loss <b id="f1-loss">…</b></div>
      <div>test accuracy <b id="f1-accuracy">…</b></div>
      <div>neurons on <b id="f1-on">…</b> · mask <code id="f1-mask">…</code></div>
      <div class="muted">all on (stored): loss {full_loss:.4f}, accuracy {100 * full_acc:.1f}%</div>
    </div>
    <div class="muted">hidden neurons (checked = on; hover for the loss with only that one off)</div>
    <div id="f1-nodes" class="f1-nodes">{''.join(boxes)}</div>
    <div class="f1-buttons">
      <button type="button" id="f1-reset">reset: all on</button>
      <button type="button" id="f1-clear">all off</button>
    </div>
    <div class="colourbar">
      <div class="muted">p(outside)</div>
      <canvas id="f1-colourbar" width="240" height="14"></canvas>
      <div class="colourbar-ticks"><span>0 · inside</span><span>0.5</span><span>1 · outside</span></div>
    </div>
    <div class="muted">last redraw <span id="f1-ms">…</span> ms</div>
  </div>
</div>
{json_script("f1-data", payload(data))}
"""


def script() -> str:
    return SCRIPT.read_text(encoding="utf-8")
