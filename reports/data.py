"""Everything the report shows, read from the warehouse views in one place (SQL only, no recomputation)."""

from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np
import polars as pl

from reports.warehouse import Warehouse

# F10 draws N small maps; more than this many grid points a side adds bytes, not information.
MAX_SMALL_MAP_SIDE = 41


@dataclass
class ReportData:
    run: dict
    run_ids: list
    config: dict
    keep_probs: list[float]
    loss_stats: pl.DataFrame
    grad_stats: pl.DataFrame
    sanity: dict
    comparison: pl.DataFrame
    knockouts: pl.DataFrame
    samples: pl.DataFrame
    node_grads: pl.DataFrame
    flip_cov: pl.DataFrame
    flip_decay: pl.DataFrame
    n_paths: int
    grid: pl.DataFrame
    grid_contrib: np.ndarray
    node_grad_maps: pl.DataFrame
    test_labels: np.ndarray
    test_contrib: np.ndarray

    @property
    def hidden(self) -> int:
        return int(self.run["hidden"])

    @property
    def grid_size(self) -> int:
        return int(self.grid["grid_i"].max()) + 1


def _lists(frame: pl.DataFrame, column: str, width: int) -> np.ndarray:
    """A FLOAT[] column as a (rows × width) float32 matrix."""
    flat = frame[column].explode().to_numpy().astype(np.float32)
    return flat.reshape(len(frame), width)


def load(wh: Warehouse) -> ReportData:
    run = wh.run_frame("select * from runs where run_id = $run").row(0, named=True)
    config = json.loads(run["config"]) if run.get("config") else {}
    hidden = int(run["hidden"])
    loss_stats = wh.run_frame("select * from loss_stats where run_id = $run order by keep_prob")
    keep_probs = [float(p) for p in loss_stats["keep_prob"]]
    sanity = wh.run_frame("select * from sanity_check where run_id = $run")
    grid = wh.run_frame(
        "select grid_i, grid_j, x0, x1, label, p_outside, loss, contrib"
        " from input_grid where run_id = $run order by grid_j, grid_i"
    )
    side = int(grid["grid_i"].max()) + 1
    stride = max(1, int(np.ceil((side - 1) / (MAX_SMALL_MAP_SIDE - 1))))
    test = wh.run_frame("select label, contrib from test_contribs where run_id = $run order by point_id")
    return ReportData(
        run=run,
        run_ids=wh.frame("select run_id from runs order by run_id")["run_id"].to_list(),
        config=config,
        keep_probs=keep_probs,
        loss_stats=loss_stats,
        grad_stats=wh.run_frame("select * from grad_stats where run_id = $run order by keep_prob"),
        sanity=sanity.row(0, named=True) if len(sanity) else {},
        comparison=wh.run_frame("select * from study_comparison where run_id = $run order by position"),
        knockouts=wh.run_frame("select * from knockout_ranking where run_id = $run order by node"),
        samples=wh.run_frame(
            "select keep_prob, sample_id, mask, n_on, loss, log_loss"
            " from mask_samples where run_id = $run order by keep_prob, sample_id"
        ),
        node_grads=wh.run_frame(
            "select keep_prob, node, node_on, grad, grad_log"
            " from sample_node_grads where run_id = $run"
        ),
        flip_cov=wh.run_frame("select i, j, cov, corr from flip_path_cov where run_id = $run order by i, j"),
        flip_decay=wh.run_frame("select * from flip_path_decay where run_id = $run order by k"),
        n_paths=int(wh.run_frame("select count(distinct path_id) as n from flip_paths where run_id = $run")["n"][0]),
        grid=grid.drop("contrib"),
        grid_contrib=_lists(grid, "contrib", hidden),
        node_grad_maps=wh.run_frame(
            f"select grid_i, grid_j, x0, x1, node, node_grad from grid_node_grads"
            f" where run_id = $run and grid_i % {stride} = 0 and grid_j % {stride} = 0"
        ),
        test_labels=test["label"].to_numpy().astype(np.int8),
        test_contrib=_lists(test, "contrib", hidden),
    )
