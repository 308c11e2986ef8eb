"""F1: the interactive knockout heat map — its data, its controls and its caption (the drawing is
heatmap.js: with one hidden layer of ReLUs the output is affine in the mask, so the stored per-point
contributions are all the browser needs; for any other network the page carries the stored weights
and the grid and test points, and the browser recomputes the forward pass)."""

from __future__ import annotations

import base64

import altair as alt
import numpy as np

from reports import dataset, fmt, maps
from reports.htmltools import json_script
from reports.sections import Section
from reports.templating import render
from reports.vldata import inline

CANVAS_SIZE = 500

QUERIES = {
    "grid": "select grid_i, grid_j, x0, p_outside, contrib from input_grid where run_id = $run order by grid_j, grid_i",
    "test": "select label, contrib from test_contribs where run_id = $run order by point_id",
    "points": "select x0, x1, label from points where run_id = $run and split = 'test' order by point_id",
    "knockouts": "select node, loss_only_off from knockout_ranking where run_id = $run order by node",
    "grid_points": "select x0, x1 from input_grid where run_id = $run order by grid_j, grid_i",
    "weights": "select tensor, row, col, value from weights where run_id = $run",
    "labels": "select label from points where run_id = $run and split = 'test' order by point_id",
}


def layer_weights(ctx) -> list[dict]:
    """The stored layers, input side first: {"out", "in", "weight" (base64 float32, row-major out × in),
    "bias"}, from the weights table's long form (layers.i.* for any network but the study's shape)."""
    rows = ctx.wh.run_frame(QUERIES["weights"])
    names = ([("hidden.weight", "hidden.bias"), ("output.weight", "output.bias")] if ctx.one_layer
             else [(f"layers.{i}.weight", f"layers.{i}.bias") for i in range(len(ctx.layers) + 1)])
    widths = [2, *ctx.layers, 2]
    out = []
    for (w_name, b_name), fan_in, fan_out in zip(names, widths[:-1], widths[1:]):
        w = np.zeros((fan_out, fan_in), np.float32)
        b = np.zeros(fan_out, np.float32)
        for r in rows.filter(rows["tensor"] == w_name).iter_rows(named=True):
            w[r["row"], r["col"]] = r["value"]
        for r in rows.filter(rows["tensor"] == b_name).iter_rows(named=True):
            b[r["row"]] = r["value"]
        out.append({"out": fan_out, "in": fan_in, "weight": _b64(w), "bias": _b64(b)})
    return out


def network_payload(ctx) -> dict:
    """What the browser needs to run the network itself: weights, activation, masked layers, and the
    grid's and the test set's points."""
    grid = ctx.wh.run_frame(QUERIES["grid_points"])
    test = ctx.wh.run_frame(QUERIES["points"])
    return {
        "layers": layer_weights(ctx), "activation": ctx.activation, "maskLayers": ctx.masked_layers,
        "gridXY": _b64(grid.select("x0", "x1").to_numpy()),
        "testXY": _b64(test.select("x0", "x1").to_numpy()),
        "testLabels": [int(v) for v in test["label"]],
    }


def _b64(array: np.ndarray) -> str:
    """float32 little-endian bytes as base64: a quarter of the size of the same numbers as JSON text."""
    return base64.b64encode(np.ascontiguousarray(array, dtype="<f4").tobytes()).decode("ascii")


def _lists(frame, column: str, width: int) -> np.ndarray:
    """A FLOAT[] column as a (rows × width) float32 matrix."""
    return frame[column].explode().to_numpy().astype(np.float32).reshape(len(frame), width)


def payload(ctx) -> dict:
    grid = ctx.wh.run_frame(QUERIES["grid"])
    test = ctx.wh.run_frame(QUERIES["test"]) if ctx.one_layer else None
    xs = np.unique(grid["x0"].to_numpy())
    # rows come ordered by (grid_j, grid_i): the page indexes them as (grid_j · side + grid_i) · N + node
    return {
        "hidden": ctx.hidden,
        "labels": None if len(ctx.layers) == 1 else ctx.unit_labels(),  # 'L1·3' for deeper networks
        "gridSize": len(xs),
        "extent": [float(xs[0]), float(xs[-1])],
        # what to draw over the map: {"kind": "circle", "radius": r}, {"kind": "axes"}, or None, and
        # then the test points ([x0, x1, label] each) to draw instead
        "boundary": dataset.boundary(ctx),
        "points": None if dataset.boundary(ctx) else [
            [float(r["x0"]), float(r["x1"]), int(r["label"])]
            for r in ctx.wh.run_frame(QUERIES["points"]).iter_rows(named=True)],
        # the training square, dotted: the study's and the generated datasets' [-1, 1]² (a CSV has none)
        "square": None if dataset.name(ctx) == "csv" else 1.0,
        # one layer of ReLUs: the affine form (logit bias + Σ on_i·contrib_i); any other network:
        # its weights, run forward in the browser (heatmap.js)
        **({"mode": "affine", "logitBias": float(ctx.run["logit_bias"]),
            "gridContrib": _b64(_lists(grid, "contrib", ctx.hidden)),
            "testContrib": _b64(_lists(test, "contrib", ctx.hidden)),
            "testLabels": [int(v) for v in test["label"]]} if ctx.one_layer
           else {"mode": "forward", **network_payload(ctx)}),
    }


def controls(ctx, data: dict):
    knockouts = {r["node"]: r["loss_only_off"] for r in ctx.wh.run_frame(QUERIES["knockouts"]).iter_rows(named=True)}
    labels = ctx.unit_labels()
    word = "node" if ctx.one_layer or len(ctx.layers) == 1 else "unit"
    nodes = [(node, f"{word} {labels[node]}", f"test loss with only {word} {labels[node]} off: {knockouts[node]:.4f}"
              if knockouts.get(node) is not None else "") for node in range(ctx.hidden)]
    study = dataset.is_study(ctx)
    return render("f1.html.j2", canvas_size=CANVAS_SIZE, nodes=nodes, p_title=dataset.p_title(ctx),
                  zero="inside" if study else "label 0", one="outside" if study else "label 1",
                  full_loss=fmt.fixed(ctx.run["test_loss"], 4), full_accuracy=fmt.pct(ctx.run["test_accuracy"], 1),
                  data=json_script("f1-data", data))


def caption(ctx, data: dict) -> str:
    lo, hi = (fmt.num(v, 2) for v in data["extent"])
    square = "" if data["square"] is None else ", wider than the training square (dotted)"
    return (
        f"Colour is the network's probability that a point is {dataset.label_one(ctx)}, over the square "
        f"[{lo}, {hi}]²{square}; {dataset.overlay_words(ctx)}. Switch neurons off to see the "
        f"map and the test loss change at once: with all {ctx.hidden} on the loss is "
        f"{fmt.fixed(ctx.run['test_loss'], 4)} and the accuracy {fmt.pct(ctx.run['test_accuracy'], 1)}."
    )


def snapshot_chart(ctx) -> alt.LayerChart:
    """Static F1 for the PNG snapshot: p(outside) of the full network."""
    grid = ctx.wh.run_frame(QUERIES["grid"])
    source = inline(grid.select("grid_i", "grid_j", "p_outside"), significant=3)
    grid = maps.grid_of(ctx)
    cells = maps.cell_chart(grid, "p_outside", dataset.p_title(ctx), maps.p_outside_scale(), 420, source=source)
    return alt.layer(cells, maps.overlay(ctx, grid))


def section(ctx) -> Section:
    data = payload(ctx)
    return Section("f1", "F1 The network with neurons switched off", caption(ctx, data), body=controls(ctx, data))
