"""Arrow tables of the store, built from arrays (the columns of store/README.md)."""
from __future__ import annotations

import numpy as np
import pyarrow as pa

from ingest.errors import UserError
from ingest.masks import n_on
from ingest.store import list_column


def check_finite(what: str, *arrays: np.ndarray) -> None:
    """A diverged network must not write NaNs into the store."""
    for a in arrays:
        if not np.all(np.isfinite(a)):
            raise UserError(f"non-finite values in {what}: the trained network is unusable "
                            "(training diverged?)")


def mask_rows(run_id: int, masks: np.ndarray, loss: np.ndarray, grad: np.ndarray | None,
              leading: dict | None = None) -> pa.Table:
    """mask, n_on, loss, log_loss[, grad] after any leading key columns."""
    check_finite("mask losses", loss, *(() if grad is None else (grad,)))
    loss = np.asarray(loss, dtype=np.float32)
    cols = {"run_id": pa.array(np.full(len(masks), run_id, np.int32))}
    cols.update(leading or {})
    cols["mask"] = pa.array(np.asarray(masks, dtype=np.int64))
    cols["n_on"] = pa.array(n_on(masks))
    cols["loss"] = pa.array(loss)
    cols["log_loss"] = pa.array(np.log(loss))
    if grad is not None:
        cols["grad"] = list_column(grad)
    return pa.table(cols)


def points_rows(run_id: int, split: str, x: np.ndarray, y: np.ndarray) -> pa.Table:
    return pa.table({
        "run_id": pa.array(np.full(len(x), run_id, np.int32)),
        "split": pa.array([split] * len(x), pa.string()),
        "point_id": pa.array(np.arange(len(x), dtype=np.int32)),
        "x0": pa.array(x[:, 0].astype(np.float64)),
        "x1": pa.array(x[:, 1].astype(np.float64)),
        "label": pa.array(np.asarray(y, dtype=np.int8)),
    })


def contrib_rows(run_id: int, y: np.ndarray, hidden: np.ndarray, contrib: np.ndarray) -> pa.Table:
    return pa.table({
        "run_id": pa.array(np.full(len(y), run_id, np.int32)),
        "point_id": pa.array(np.arange(len(y), dtype=np.int32)),
        "label": pa.array(np.asarray(y, dtype=np.int8)),
        "hidden": list_column(hidden),
        "contrib": list_column(contrib),
    })


def grid_rows(run_id: int, gi, gj, x, y, p_outside, loss, hidden, contrib, node_grad) -> pa.Table:
    check_finite("the input grid", p_outside, loss, node_grad)
    return pa.table({
        "run_id": pa.array(np.full(len(x), run_id, np.int32)),
        "grid_i": pa.array(gi),
        "grid_j": pa.array(gj),
        "x0": pa.array(x[:, 0].astype(np.float64)),
        "x1": pa.array(x[:, 1].astype(np.float64)),
        "label": pa.array(np.asarray(y, dtype=np.int8)),
        "p_outside": pa.array(np.asarray(p_outside, dtype=np.float32)),
        "loss": pa.array(np.asarray(loss, dtype=np.float32)),
        "hidden": list_column(hidden),
        "contrib": list_column(contrib),
        "node_grad": list_column(node_grad),
    })
