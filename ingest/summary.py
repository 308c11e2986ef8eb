"""Sufficient statistics of one run's 2^N masks: the small tables every exact mart is built from.

The exact marts (moments, shapes, Shapley and Banzhaf values, flip effects, best subnetworks,
complement correlations, histograms) need sums over all masks grouped by size, by node, by flip
pair or by bin. Grouped in SQL over 2^N rows × N gradients that costs tens of seconds; here the
mask table is an array indexed by the mask integer, so
- the two ends of a flip of node i are the two halves of a reshape (mask, mask + 2^i): no join;
- a mask's complement is the same array reversed (2^N − 1 − m): no join;
- sums by size are bincounts over n_on.
Every number is summed in float64 from the stored float32 values, so the marts equal the same
statistic computed over the Parquet rows.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from ingest.masks import n_on as popcount

# Histogram bins: a fifteenth of the study's kernel width 0.03, far below what a smoothed curve shows.
BIN_WIDTH = 0.002
# flip_effects: a convexity bound is "tight" within this share of |effect| ...
TIGHT_SHARE = 0.1
# ... and float32 rounding aside, no pair may break a bound by more than this.
BOUND_SLACK = 1e-5
# best_subnetworks: masks "near the best" lose at most this factor of the best loss.
NEAR_BEST = 1.1
TABLES = ("summary_by_size", "summary_by_node", "summary_flips", "summary_bins", "summary_sample_flips")


def read_run(files: list[Path], hidden: int, grad: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """loss (2^N,) and grad (2^N × N, or None) float32, indexed by the mask integer, from a run's
    shards, streamed in batches so memory stays near the size of the arrays themselves."""
    loss = np.empty(1 << hidden, np.float32)
    grads = np.empty((1 << hidden, hidden), np.float32) if grad else None
    columns = ["mask", "loss", "grad"] if grad else ["mask", "loss"]
    for path in files:
        for batch in pq.ParquetFile(path).iter_batches(batch_size=1 << 16, columns=columns, use_threads=False):
            masks = batch.column("mask").to_numpy()
            loss[masks] = batch.column("loss").to_numpy()
            if grad:
                grads[masks] = batch.column("grad").flatten().to_numpy().reshape(len(masks), hidden)
    return loss, grads


def _column(values, dtype) -> pa.Array:
    return pa.array(np.asarray(values, dtype=dtype))


CHUNK = 1 << 13  # masks per pass over the gradients: the temporaries stay in cache


class _GradPasses:
    """Per-mask sums over the N gradients, and the gradient histograms, in one chunked pass.

    Large temporaries (N × 2^N float64) would cost more in page faults than in arithmetic, so the
    gradients are converted and reduced a cache-sized chunk at a time.
    """

    def __init__(self, loss: np.ndarray, grad: np.ndarray, sizes: np.ndarray):
        masks, hidden = grad.shape
        k = hidden + 1
        l64 = loss.astype(np.float64)
        self.centre = float(grad.sum(dtype=np.float64) / grad.size) if grad.size else 0.0
        # by size: Σg, Σg², Σg/loss, Σg²/loss², Σd, Σd², Σd³, Σd⁴ with d = g − centre, summed over
        # each mask's nodes, then over the masks of each size
        self.by_size = np.zeros((8, k))
        r = np.empty((8, CHUNK))
        self.hist = {}
        # loss > 0, so the extremes of g_i / loss are each mask's extreme g_i over its loss
        row_min, row_max = grad.min(axis=1).astype(np.float64), grad.max(axis=1).astype(np.float64)
        ranges = {"grad": (row_min.min(), row_max.max()),
                  "grad_log": ((row_min / l64).min(), (row_max / l64).max())}
        spans = {}
        for name, (lo, hi) in ranges.items():
            b_lo = int(np.floor(np.float64(lo) / BIN_WIDTH))
            spans[name] = (b_lo, int(np.floor(np.float64(hi) / BIN_WIDTH)) - b_lo + 1)
            self.hist[name] = (np.zeros(k * spans[name][1]), np.zeros(k * spans[name][1]))
        self.spans, self.k = spans, k
        # No BLAS here (no matrix products): two networks are summarised at once on two threads, and
        # BLAS's own threads would fight them for the cores.
        g = np.empty((CHUNK, hidden))
        d = np.empty_like(g)
        p = np.empty_like(g)
        key = np.empty(g.shape, np.int64)
        for lo in range(0, masks, CHUNK):
            hi = min(lo + CHUNK, masks)
            n = hi - lo
            gc, dc, pc, kc = g[:n], d[:n], p[:n], key[:n]
            np.copyto(gc, grad[lo:hi])
            inv = 1.0 / l64[lo:hi]
            r = r[:, :n] if n < CHUNK else r
            r[0] = gc.sum(axis=1)
            np.multiply(gc, gc, out=pc)
            r[1] = pc.sum(axis=1)
            r[2] = r[0] * inv
            r[3] = r[1] * inv * inv
            np.subtract(gc, self.centre, out=dc)
            r[4] = dc.sum(axis=1)
            np.multiply(dc, dc, out=pc)
            r[5] = pc.sum(axis=1)
            np.multiply(pc, dc, out=pc)
            r[6] = pc.sum(axis=1)
            np.multiply(pc, dc, out=pc)
            r[7] = pc.sum(axis=1)
            size_key = sizes[lo:hi].astype(np.int64)
            for q in range(8):
                self.by_size[q] += np.bincount(size_key, weights=r[q], minlength=k)
            self._bin("grad", gc, size_key, pc, kc)
            np.multiply(gc, inv[:, None], out=dc)  # ∂ln(loss)/∂on_i = (∂loss/∂on_i) / loss
            self._bin("grad_log", dc, size_key, pc, kc)

    def _bin(self, name, values, size_key, scratch, key):
        b_lo, span = self.spans[name]
        np.divide(values, BIN_WIDTH, out=scratch)
        np.floor(scratch, out=scratch)
        key[:] = scratch
        key -= b_lo
        key += (size_key * span)[:, None]
        counts, totals = self.hist[name]
        counts += np.bincount(key.ravel(), minlength=len(counts))
        totals += np.bincount(key.ravel(), weights=values.ravel(), minlength=len(totals))

    def histogram(self, name):
        """(n_on, bin, count, sum) of the non-empty bins."""
        b_lo, span = self.spans[name]
        counts, totals = self.hist[name]
        keep = np.flatnonzero(counts)
        return keep // span, keep % span + b_lo, counts[keep].astype(np.int64), totals[keep]


def by_size(run_id: int, loss: np.ndarray, sizes: np.ndarray, passes: _GradPasses) -> pa.Table:
    """One row per n_on: counts, power sums, best/worst/median masks, complement co-moments."""
    k = passes.k
    l64 = loss.astype(np.float64)
    ll = np.log(loss).astype(np.float64)  # the stored log_loss column (float32)
    count = np.bincount(sizes, minlength=k)

    def sums(values):
        return np.bincount(sizes, weights=values, minlength=k)

    centred = {}  # Σ d, Σ d², Σ d³, Σ d⁴ by size, d measured from the mean over all masks
    for name, values in (("loss", l64), ("log_loss", ll)):
        d = values - values.mean()
        d2 = d * d
        centred[name] = (sums(d), sums(d2), sums(d2 * d), sums(d2 * d2))
        del d, d2
    # order by (size, loss): best, worst and median of each size are positions in that order
    by_count = np.argsort(sizes, kind="stable")
    order = np.concatenate([group[np.argsort(l64[group], kind="stable")]
                            for group in np.split(by_count, np.cumsum(count)[:-1])])
    starts = np.concatenate([[0], np.cumsum(count)[:-1]])
    ends = starts + count
    sorted_loss = l64[order]
    mid_lo, mid_hi = starts + (count - 1) // 2, starts + count // 2
    near = np.array([np.searchsorted(sorted_loss[a:b], NEAR_BEST * sorted_loss[a], side="right")
                     for a, b in zip(starts, ends)])
    comp = ll[::-1]  # log loss of each mask's complement, 2^N − 1 − mask
    grads = passes.by_size
    return pa.table({
        "run_id": _column(np.full(k, run_id), np.int32),
        "n_on": _column(np.arange(k), np.int32),
        "n": _column(count, np.int64),
        "sum_loss": _column(sums(l64), np.float64),
        "sum_loss2": _column(sums(l64 * l64), np.float64),
        "sum_log_loss": _column(sums(ll), np.float64),
        "sum_log_loss2": _column(sums(ll * ll), np.float64),
        "sum_grad": _column(grads[0], np.float64),
        "sum_grad2": _column(grads[1], np.float64),
        "sum_grad_log": _column(grads[2], np.float64),
        "sum_grad_log2": _column(grads[3], np.float64),
        **{f"c{p}_{name}": _column(centred[name][p - 1], np.float64)
           for name in ("loss", "log_loss") for p in (1, 2, 3, 4)},
        **{f"c{p}_grad": _column(grads[3 + p], np.float64) for p in (1, 2, 3, 4)},
        "best_mask": _column(order[starts], np.int64),
        "best_loss": _column(sorted_loss[starts], np.float64),
        "worst_mask": _column(order[ends - 1], np.int64),
        "worst_loss": _column(sorted_loss[ends - 1], np.float64),
        "median_loss": _column((sorted_loss[mid_lo] + sorted_loss[mid_hi]) / 2, np.float64),
        "n_near_best": _column(near, np.int64),
        "sum_log_loss_complement": _column(sums(comp), np.float64),
        "sum_log_loss_complement2": _column(sums(comp * comp), np.float64),
        "sum_log_loss_x_complement": _column(sums(ll * comp), np.float64),
    })


def by_node(run_id: int, loss: np.ndarray, grad: np.ndarray, sizes: np.ndarray) -> pa.Table:
    """One row per (node, node_on, n_on) with masks: mask count, summed loss, summed gradient of that node."""
    hidden = grad.shape[1]
    k = hidden + 1
    masks = np.arange(len(loss), dtype=np.int64)
    l64 = loss.astype(np.float64)
    cols = {name: [] for name in ("node", "node_on", "n_on", "n", "sum_loss", "sum_grad")}
    for node in range(hidden):
        key = ((masks >> node) & 1) * k + sizes
        n = np.bincount(key, minlength=2 * k)
        keep = n > 0
        cols["node"].append(np.full(keep.sum(), node))
        cols["node_on"].append((np.arange(2 * k) // k)[keep])
        cols["n_on"].append((np.arange(2 * k) % k)[keep])
        cols["n"].append(n[keep])
        cols["sum_loss"].append(np.bincount(key, weights=l64, minlength=2 * k)[keep])
        cols["sum_grad"].append(np.bincount(key, weights=grad[:, node], minlength=2 * k)[keep])
    types = {"node": np.int32, "node_on": np.int32, "n_on": np.int32, "n": np.int64,
             "sum_loss": np.float64, "sum_grad": np.float64}
    columns = {name: _column(np.concatenate(parts), types[name]) for name, parts in cols.items()}
    return pa.table({"run_id": _column(np.full(len(columns["node"]), run_id), np.int32), **columns})


def flip_sums(l_off, l_on, g_off, g_on) -> dict[str, float]:
    """The flip sums of summary.flips over these pairs (float64 arrays of equal length)."""
    effect = l_on - l_off
    size = np.abs(effect)
    return {
        "n_pairs": len(effect),
        "sum_effect": effect.sum(), "sum_effect2": (effect * effect).sum(),
        "sum_grad_off": g_off.sum(), "sum_grad_off2": (g_off * g_off).sum(),
        "sum_grad_on": g_on.sum(), "sum_grad_on2": (g_on * g_on).sum(),
        "sum_effect_x_grad_off": (effect * g_off).sum(), "sum_effect_x_grad_on": (effect * g_on).sum(),
        "n_lower_tight": int((effect - g_off <= TIGHT_SHARE * size).sum()),
        "n_upper_tight": int((g_on - effect <= TIGHT_SHARE * size).sum()),
        "n_misled": int((np.sign(g_on) != np.sign(effect)).sum()),
        "n_bound_violations": int(((effect < g_off - BOUND_SLACK) | (effect > g_on + BOUND_SLACK)).sum()),
    }


def flips(run_id: int, loss: np.ndarray, grad: np.ndarray) -> pa.Table:
    """One row per node: sums over the 2^(N−1) pairs (mask without the node, mask with it)."""
    hidden = grad.shape[1]
    l64 = loss.astype(np.float64)
    rows = []
    for node in range(hidden):
        step = 1 << node
        pairs = l64.reshape(-1, 2, step)  # [:, 0] the node off, [:, 1] the same mask with it on
        g = grad[:, node].astype(np.float64).reshape(-1, 2, step)
        rows.append({"node": node, **flip_sums(pairs[:, 0].ravel(), pairs[:, 1].ravel(), g[:, 0].ravel(),
                                               g[:, 1].ravel())})
    table = pa.Table.from_pylist(rows) if rows else None
    columns = {"run_id": _column(np.full(len(rows), run_id), np.int32)}
    names = ("node", "n_pairs", "sum_effect", "sum_effect2", "sum_grad_off", "sum_grad_off2", "sum_grad_on",
             "sum_grad_on2", "sum_effect_x_grad_off", "sum_effect_x_grad_on", "n_lower_tight", "n_upper_tight",
             "n_misled", "n_bound_violations")
    for name in names:
        dtype = np.float64 if name.startswith("sum_") else (np.int32 if name == "node" else np.int64)
        columns[name] = _column(table.column(name).to_numpy() if table is not None else [], dtype)
    return pa.table(columns)


def bins(run_id: int, loss: np.ndarray, sizes: np.ndarray, passes: _GradPasses) -> pa.Table:
    """One row per (quantity, n_on, bin): how many masks (or mask-node pairs) and their summed value."""
    k = passes.k
    parts = []
    for name in ("loss", "log_loss", "grad", "grad_log"):
        if name in passes.hist:
            size, b, n, total = passes.histogram(name)
        else:
            values = loss.astype(np.float64) if name == "loss" else np.log(loss).astype(np.float64)
            bins_ = np.floor(values / BIN_WIDTH).astype(np.int64)
            b_lo = int(bins_.min())
            span = int(bins_.max()) - b_lo + 1
            key = sizes.astype(np.int64) * span + (bins_ - b_lo)
            counts = np.bincount(key, minlength=k * span)
            totals = np.bincount(key, weights=values, minlength=k * span)
            keep = np.flatnonzero(counts)
            size, b, n, total = keep // span, keep % span + b_lo, counts[keep], totals[keep]
        parts.append(bins_rows(run_id, name, size, b, n, total))
    return pa.concat_tables(parts)


def bins_rows(run_id: int, quantity: str, size, b, n, total) -> pa.Table:
    """summary_bins' rows of one quantity: per (n_on, bin) the count and the summed value."""
    return pa.table({
        "run_id": _column(np.full(len(n), run_id), np.int32),
        "quantity": pa.array([quantity] * len(n), pa.string()),
        "n_on": _column(size, np.int32),
        "bin": _column(b, np.int64),
        "bin_width": _column(np.full(len(n), BIN_WIDTH), np.float64),
        "n": _column(n, np.int64),
        "sum_value": _column(total, np.float64),
    })


def sample_flips(run_id: int, loss: np.ndarray, grad: np.ndarray, samples: pa.Table,
                 ends: np.ndarray | None = None) -> pa.Table:
    """One row per (sampled mask, node): the flip of that node through the study's mask — both ends'
    loss and the node's gradient there, looked up by mask integer (the points behind a scatter):
    row m of loss and grad is mask m, or, with `ends` (sorted masks), mask ends[m]."""
    hidden = grad.shape[1]
    keep_prob = samples.column("keep_prob").to_numpy()
    sample_id = samples.column("sample_id").to_numpy()
    mask = samples.column("mask").to_numpy()
    node = np.tile(np.arange(hidden, dtype=np.int64), len(mask))
    rows = np.repeat(np.arange(len(mask)), hidden)
    off = mask[rows] & ~(np.int64(1) << node)
    on = mask[rows] | (np.int64(1) << node)
    i_off, i_on = (off, on) if ends is None else (np.searchsorted(ends, off), np.searchsorted(ends, on))
    return pa.table({
        "run_id": _column(np.full(len(node), run_id), np.int32),
        "keep_prob": _column(keep_prob[rows], np.float64),
        "sample_id": _column(sample_id[rows], np.int32),
        "node": _column(node, np.int32),
        "node_on_in_sample": _column((mask[rows] >> node) & 1, np.int32),
        "off_mask": _column(off, np.int64),
        "n_on_off": _column(popcount(off), np.int32),
        "loss_off": _column(loss[i_off], np.float32),
        "loss_on": _column(loss[i_on], np.float32),
        "grad_off": _column(grad[i_off, node], np.float32),
        "grad_on": _column(grad[i_on, node], np.float32),
    })


def summarise(run_id: int, loss: np.ndarray | None, grad: np.ndarray | None,
              samples: pa.Table) -> dict[str, pa.Table]:
    """The summary tables of one run (loss, grad indexed by mask; samples: its mask_samples rows);
    without exhaustive masks (loss None), empty tables with the right columns, so every mart
    answers with no rows."""
    empty = loss is None
    if empty:  # a tiny stand-in table gives the columns
        loss, grad = np.ones(2, np.float32), np.zeros((2, 1), np.float32)
        samples = samples.slice(0, 0)
    sizes = popcount(np.arange(len(loss), dtype=np.int64))
    passes = _GradPasses(loss, grad, sizes)
    tables = {
        "summary_by_size": by_size(run_id, loss, sizes, passes),
        "summary_by_node": by_node(run_id, loss, grad, sizes),
        "summary_flips": flips(run_id, loss, grad),
        "summary_bins": bins(run_id, loss, sizes, passes),
        "summary_sample_flips": sample_flips(run_id, loss, grad, samples),
    }
    return {name: t.slice(0, 0) for name, t in tables.items()} if empty else tables
