"""`python -m ingest.run`: train, evaluate masks, write store/ and store/warehouse.duckdb, then the report."""
from __future__ import annotations

import json
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pyarrow as pa
import torch
from tqdm import tqdm

from ingest import catalog, cli, grid, masks, network, paths, points, tables
from ingest.errors import UserError
from ingest.kernel import MaskKernel, blocks, logit_terms
from ingest.manifest import package_versions, print_summary, write_manifest
from ingest.store import TableWriter, open_store, write_table

RUN_ID = 0


class Stages:
    """Wall time and rows written per stage, for the closing table and the manifest."""

    def __init__(self):
        self.rows: list[dict] = []

    @contextmanager
    def stage(self, name: str):
        record = {"stage": name, "seconds": 0.0, "rows": {}}
        start = time.perf_counter()
        yield record["rows"]
        record["seconds"] = round(time.perf_counter() - start, 3)
        self.rows.append(record)


def _bar(total: int, desc: str, unit: str):
    return tqdm(total=total, desc=desc, unit=unit, unit_scale=True, leave=False,
                disable=None, file=sys.stderr, dynamic_ncols=True)


def evaluate(kernel: MaskKernel, mask_array: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    loss = np.empty(len(mask_array), np.float32)
    grad = np.empty((len(mask_array), kernel.hidden), np.float32)
    for lo, hi in blocks(0, len(mask_array), block):
        loss[lo:hi], grad[lo:hi] = kernel.evaluate(mask_array[lo:hi])
    return loss, grad


def accuracy(net, x, y) -> float:
    _, a, c = logit_terms(net, x)
    return float(np.mean((a.sum(axis=1) + c > 0) == (y == 1)))


def run(config, store: Path, report: Path | None) -> dict:
    store = open_store(store)
    stages = Stages()
    full = masks.full(config.hidden)
    torch.manual_seed(config.train_seed)

    with stages.stage("train") as rows:
        x_train = points.train_points(config)
        y_train = points.label(x_train, config.label_rule)
        x_test = points.test_points(config)
        y_test = points.label(x_test, config.label_rule)
        with _bar(config.epochs, "train", "epoch") as bar:
            net = network.train(config, x_train, y_train, progress=bar)
        test_kernel = MaskKernel(net, x_test, y_test)
        train_kernel = MaskKernel(net, x_train, y_train)
        test_loss = float(test_kernel.evaluate(np.array([full]))[0][0])
        train_loss = float(train_kernel.evaluate(np.array([full]))[0][0])
        tables.check_finite("the full network's loss", np.array([test_loss, train_loss]))
        run_row = {
            "run_id": [RUN_ID], "train_seed": [config.train_seed], "hidden": [config.hidden],
            "label_rule": [config.label_rule], "radius": [points.radius(config.label_rule)],
            "logit_bias": [logit_terms(net, x_test[:1])[2]],
            "train_loss": [train_loss], "train_accuracy": [accuracy(net, x_train, y_train)],
            "test_loss": [test_loss], "test_accuracy": [accuracy(net, x_test, y_test)],
            "config": [config.to_json()],
        }
        rows["runs"] = write_table(store, "runs", pa.table(run_row))
        rows["points"] = write_table(store, "points", pa.concat_tables([
            tables.points_rows(RUN_ID, "train", x_train, y_train),
            tables.points_rows(RUN_ID, "test", x_test, y_test)]))
        rows["weights"] = write_table(store, "weights", network.weights_table(net, RUN_ID))
        hidden, contrib, _ = logit_terms(net, x_test)
        rows["test_contribs"] = write_table(store, "test_contribs",
                                            tables.contrib_rows(RUN_ID, y_test, hidden, contrib))

    with stages.stage("samples") as rows:
        keep_prob, sample_id, sample_masks = masks.sampled(config)
        loss, grad = evaluate(test_kernel, sample_masks, config.block_masks)
        table = tables.mask_rows(RUN_ID, sample_masks, loss, grad, leading={
            "keep_prob": pa.array(keep_prob), "sample_id": pa.array(sample_id)})
        rows["mask_samples"] = write_table(store, "mask_samples", table)

        marks = masks.landmarks(config.hidden)
        loss, grad = evaluate(test_kernel, marks, config.block_masks)
        rows["mask_landmarks"] = write_table(store, "mask_landmarks",
                                             tables.mask_rows(RUN_ID, marks, loss, grad))

    with stages.stage("exhaustive") as rows:
        writer = TableWriter(store, "mask_exhaustive")
        try:
            total = 2 ** config.hidden if config.exhaustive else 0
            with _bar(total, "exhaustive", "mask") as bar:
                for lo, hi in blocks(0, total, config.block_masks):
                    block = np.arange(lo, hi, dtype=np.int64)
                    loss, grad = test_kernel.evaluate(block)
                    writer.write(tables.mask_rows(RUN_ID, block, loss, grad))
                    bar.update(hi - lo)
            if total == 0:  # keep the table (empty, same columns) so every view still answers
                empty = np.zeros(0, np.int64)
                writer.write(tables.mask_rows(RUN_ID, empty, np.zeros(0), np.zeros((0, config.hidden))))
        except BaseException:
            writer.abort()
            raise
        rows["mask_exhaustive"] = writer.commit()

    with stages.stage("flip_paths") as rows:
        path_masks, flipped = paths.flip_paths(config.flip_paths, config.hidden, config.path_seed)
        loss, _ = evaluate(test_kernel, path_masks.ravel(), config.block_masks)
        steps = config.hidden + 1
        node = flipped.ravel()
        table = tables.mask_rows(RUN_ID, path_masks.ravel(), loss, None, leading={
            "path_id": pa.array(np.repeat(np.arange(config.flip_paths, dtype=np.int32), steps)),
            "step": pa.array(np.tile(np.arange(steps, dtype=np.int32), config.flip_paths)),
            "flipped_node": pa.array(node.astype(np.int32), mask=node < 0),
        })
        rows["flip_paths"] = write_table(store, "flip_paths", table)

    with stages.stage("grid") as rows:
        gi, gj, xg = grid.grid_points(config.grid_size, config.grid_extent)
        yg = points.label(xg, config.label_rule)
        hidden, contrib, c = logit_terms(net, xg)
        p_outside = 1.0 / (1.0 + np.exp(-(contrib.sum(axis=1) + c)))
        loss, node_grad = MaskKernel(net, xg, yg).pointwise(full)
        rows["input_grid"] = write_table(store, "input_grid", tables.grid_rows(
            RUN_ID, gi, gj, xg, yg, p_outside, loss, hidden, contrib, node_grad))

    with stages.stage("warehouse") as rows:
        counts = catalog.build(store)
        rows["views"] = len(catalog.sql_files())

    if report is not None:
        with stages.stage("report") as rows:
            from reports.build import build_report
            build_report(store, report)
            rows["report"] = 1

    manifest = {
        "config": json.loads(config.to_json()),
        "packages": package_versions(),
        "stages": stages.rows,
        "row_counts": counts,
        "test_loss": test_loss,
    }
    write_manifest(store, manifest)
    return manifest


def main(argv: list[str] | None = None) -> int:
    try:
        config, args = cli.parse(argv)
        started = time.perf_counter()
        manifest = run(config, args.store, None if args.no_report else args.report)
        print_summary(manifest, time.perf_counter() - started, args.store)
        return 0
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted: tables already written are complete; run the same command again to "
              f"rebuild the store", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
