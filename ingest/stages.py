"""The units of work for one trained network; each writes its own files under the store."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest import grid, masks, network, paths, points, tables
from ingest.kernel import MaskKernel, blocks, logit_terms
from ingest.store import FileWriter, write_file


@dataclass
class Trained:
    """What the later stages of one run need from its training stage."""
    run_id: int
    net: network.Network
    kernel: MaskKernel  # on the test set


def file_name(run_id: int) -> str:
    return f"run-{run_id}"


def accuracy(net, x, y) -> float:
    _, a, c = logit_terms(net, x)
    return float(np.mean((a.sum(axis=1) + c > 0) == (y == 1)))


def _test_set(config):
    x = points.test_points(config)
    return x, points.label(x, config.label_rule)


@dataclass
class Fitted:
    """A trained network and its tables, held in memory until every network has trained cleanly."""
    trained: Trained
    tables: dict[str, pa.Table]


def training_data(config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    x = points.train_points(config, seed)
    return x, points.label(x, config.label_rule)


def fit_all(config, seeds: dict[int, int], progress=None) -> dict[int, Fitted]:
    """Train the networks of {run_id: seed} together; raises UserError (writing nothing) if one diverged."""
    data = {run_id: training_data(config, seed) for run_id, seed in seeds.items()}
    nets = network.train_many(config, list(data.values()), list(seeds.values()), progress=progress)
    return {run_id: describe(config, run_id, seeds[run_id], net, *data[run_id])
            for run_id, net in zip(seeds, nets)}


def describe(config, run_id: int, seed: int, net, x_train, y_train) -> Fitted:
    """The tables of one trained network: weights, points, test contributions and its runs row."""
    x_test, y_test = _test_set(config)
    full = np.array([masks.full(config.hidden)])
    test_kernel = MaskKernel(net, x_test, y_test, device=config.device)
    test_loss = float(test_kernel.evaluate(full)[0][0])
    train_loss = float(MaskKernel(net, x_train, y_train).evaluate(full)[0][0])
    tables.check_finite("the full network's loss", np.array([test_loss, train_loss]))
    run_row = pa.table({
        "run_id": pa.array([run_id], pa.int32()), "train_seed": [seed], "hidden": [config.hidden],
        "label_rule": [config.label_rule], "radius": [points.radius(config.label_rule)],
        "logit_bias": [logit_terms(net, x_test[:1])[2]],
        "train_loss": [train_loss], "train_accuracy": [accuracy(net, x_train, y_train)],
        "test_loss": [test_loss], "test_accuracy": [accuracy(net, x_test, y_test)],
        "config": [config.to_json()],
    })
    hidden, contrib, _ = logit_terms(net, x_test)
    # In write order: the runs row last, so it only ever describes a network whose files are complete.
    out = {
        "weights": network.weights_table(net, run_id),
        "points": pa.concat_tables([tables.points_rows(run_id, "train", x_train, y_train),
                                    tables.points_rows(run_id, "test", x_test, y_test)]),
        "test_contribs": tables.contrib_rows(run_id, y_test, hidden, contrib),
        "runs": run_row,
    }
    return Fitted(Trained(run_id, net, test_kernel), out)


def write_training(store: Path, fitted: Fitted) -> list[Path]:
    name = file_name(fitted.trained.run_id)
    return [write_file(store, table, name, data) for table, data in fitted.tables.items()]


def load_trained(config, store: Path, run_id: int) -> Trained:
    """A finished training stage, rebuilt from its stored weights (no retraining on resume)."""
    rows = pq.read_table(store / "weights" / f"{file_name(run_id)}.parquet")
    net = network.from_weights_table(rows, run_id)
    x_test, y_test = _test_set(config)
    return Trained(run_id, net, MaskKernel(net, x_test, y_test, device=config.device))


def evaluate(kernel: MaskKernel, mask_array: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    loss = np.empty(len(mask_array), np.float32)
    grad = np.empty((len(mask_array), kernel.hidden), np.float32)
    for lo, hi in blocks(0, len(mask_array), block):
        loss[lo:hi], grad[lo:hi] = kernel.evaluate(mask_array[lo:hi])
    return loss, grad


def samples(config, store: Path, t: Trained) -> list[Path]:
    keep_prob, sample_id, sample_masks = masks.sampled(config)
    loss, grad = evaluate(t.kernel, sample_masks, config.block_masks)
    table = tables.mask_rows(t.run_id, sample_masks, loss, grad, leading={
        "keep_prob": pa.array(keep_prob), "sample_id": pa.array(sample_id)})
    return [write_file(store, "mask_samples", file_name(t.run_id), table)]


def landmarks(config, store: Path, t: Trained) -> list[Path]:
    marks = masks.landmarks(config.hidden)
    loss, grad = evaluate(t.kernel, marks, config.block_masks)
    return [write_file(store, "mask_landmarks", file_name(t.run_id),
                       tables.mask_rows(t.run_id, marks, loss, grad))]


def exhaustive_shards(config) -> list[tuple[int, int]]:
    """Mask ranges, one file each: a killed run loses at most one shard of work."""
    total = 2 ** config.hidden if config.exhaustive else 0
    return list(blocks(0, total, config.shard_masks)) or [(0, 0)]


EXHAUSTIVE_ROWS = 1 << 18  # masks per exhaustive row group: ~25 MB of loss and gradients


def exhaustive_shard(config, store: Path, t: Trained, part: int, lo: int, hi: int, progress=None) -> list[Path]:
    # Dictionary encoding pays only for the few-valued columns; on losses and gradients it halves speed.
    with FileWriter(store, "mask_exhaustive", f"{file_name(t.run_id)}-part-{part:03d}",
                    dictionary=["run_id", "n_on"]) as writer:
        # Row groups of EXHAUSTIVE_ROWS masks: memory stays bounded whatever N, and Parquet encodes
        # a few large row groups far faster than many small ones.
        for b_lo, b_hi in blocks(lo, hi, EXHAUSTIVE_ROWS):
            loss, grad = t.kernel.evaluate_range(b_lo, b_hi)
            writer.write(tables.mask_rows(t.run_id, np.arange(b_lo, b_hi, dtype=np.int64), loss, grad))
            if progress is not None:
                progress.update(b_hi - b_lo)
        if hi == lo:  # --no-exhaustive: an empty file keeps the columns so every view answers
            empty = np.zeros(0, np.int64)
            writer.write(tables.mask_rows(t.run_id, empty, np.zeros(0), np.zeros((0, config.hidden))))
    return [writer.final]


def flip_paths(config, store: Path, t: Trained) -> list[Path]:
    path_masks, flipped = paths.flip_paths(config.flip_paths, config.hidden, config.path_seed)
    loss, _ = evaluate(t.kernel, path_masks.ravel(), config.block_masks)
    steps = config.hidden + 1
    node = flipped.ravel()
    table = tables.mask_rows(t.run_id, path_masks.ravel(), loss, None, leading={
        "path_id": pa.array(np.repeat(np.arange(config.flip_paths, dtype=np.int32), steps)),
        "step": pa.array(np.tile(np.arange(steps, dtype=np.int32), config.flip_paths)),
        "flipped_node": pa.array(node.astype(np.int32), mask=node < 0),
    })
    return [write_file(store, "flip_paths", file_name(t.run_id), table)]


def input_grid(config, store: Path, t: Trained) -> list[Path]:
    gi, gj, xg = grid.grid_points(config.grid_size, config.grid_extent)
    yg = points.label(xg, config.label_rule)
    hidden, contrib, c = logit_terms(t.net, xg)
    p_outside = 1.0 / (1.0 + np.exp(-(contrib.sum(axis=1) + c)))
    loss, node_grad = MaskKernel(t.net, xg, yg).pointwise(masks.full(config.hidden))
    return [write_file(store, "input_grid", file_name(t.run_id), tables.grid_rows(
        t.run_id, gi, gj, xg, yg, p_outside, loss, hidden, contrib, node_grad))]
