"""Aggregate-only enumeration (`--exhaustive-rows none`): all 2^N masks evaluated, no per-mask rows.

Each unit of the exhaustive stage evaluates its masks and reduces them at once to partial sums
(`exhaustive_sums`, thousands of rows: mostly histogram bins); the summary stage adds the partials
of a run (ingest/merge.py) into the same summary tables that ingest/summary.py builds from the per-mask rows, so the
exact marts read the same columns either way. What one unit needs together decides the units:

- Shards are 2^s consecutive masks (s at least ⌈N/2⌉); the high N − s bits are fixed in a shard.
- A mask's complement 2^N − 1 − m lies in the mirror shard K − 1 − k, at the mirrored position:
  the first units each evaluate a mirror pair of shards, so Σ log loss × its complement's is summed
  inside the unit. Everything that is a sum over single masks (by size, by node, histograms, the
  best and worst mask of each size, moments) is summed there too, and so are the flips of the low
  s nodes, whose two ends (m, m + 2^i) lie in the same shard.
- The flip of a high node pairs masks of different shards, so a second set of units evaluates the
  masks again, grouped the other way round: unit j holds every high part with one slice of low
  parts, and sums the flips of the high nodes. That costs a second kernel pass (loss and the high
  nodes' gradients only: about half a full pass at N = 28); holding the other shards' losses and
  gradients instead would cost gigabytes.

Centred moments need the mean over all masks, which no unit knows: a unit stores Σ (x − a)^p about
its own mean a, and the merge moves each to the global mean c by the binomial expansion
Σ (x − c)^p = Σ_j C(p, j) (a − c)^(p−j) Σ (x − a)^j — a small shift, so no cancellation.

Two columns are not sums: the median loss of each size and the count of masks within 10% of the
best. The regrouped units evaluate every mask anyway, so they also collect what makes both exact: the
`exhaustive_targets` stage finds, from the mirror pairs' loss histograms, the bin of each size that
holds each middle rank and the bin that holds the threshold 1.1 × best; a regrouped unit keeps every
loss that falls in a middle-rank bin (at N = 28 about 0.3% of its masks) and counts its masks in the
threshold's bin at or below it. With a single shard (small N) the one unit finds both directly.
"""
from __future__ import annotations

import ctypes
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa

from ingest.masks import n_on as popcount
from ingest.summary import BIN_WIDTH, BOUND_SLACK, NEAR_BEST, TIGHT_SHARE, _column, flip_sums

CHUNK = 1 << 13  # masks per pass over the gradients: the float64 temporaries stay in cache
FLIP_SUMS = ("n_pairs", "sum_effect", "sum_effect2", "sum_grad_off", "sum_grad_off2", "sum_grad_on",
             "sum_grad_on2", "sum_effect_x_grad_off", "sum_effect_x_grad_on", "n_lower_tight",
             "n_upper_tight", "n_misled", "n_bound_violations")


@dataclass(frozen=True)
class Layout:
    hidden: int
    shard_bits: int  # s: a shard is 2^s consecutive masks

    @property
    def size(self) -> int:
        return 1 << self.shard_bits

    @property
    def shards(self) -> int:
        return 1 << (self.hidden - self.shard_bits)


def layout(config) -> Layout:
    """Shards of --shard-masks masks rounded down to a power of two, at least 2^⌈N/2⌉ (the second
    units need a shard's worth of low parts for every high part)."""
    n = config.nodes
    return Layout(n, min(n, max(config.shard_masks.bit_length() - 1, (n + 1) // 2)))


def pair_units(config) -> list[tuple[int, int]]:
    """The exhaustive stage's units: mirror pair u of shards as the positions [2uS, 2(u + 1)S)."""
    g = layout(config)
    if g.shards == 1:
        return [(0, g.size)]
    return [(u * 2 * g.size, (u + 1) * 2 * g.size) for u in range(g.shards // 2)]


def regrouped_units(config) -> list[tuple[int, int]]:
    """The regrouped stage's units, [jS, (j + 1)S) for unit j; one empty unit (0, 0) when one shard
    holds every mask (its file has the columns and no rows)."""
    g = layout(config)
    return [(0, 0)] if g.shards == 1 else [(j * g.size, (j + 1) * g.size) for j in range(g.shards)]


_lock = threading.Lock()
_loaded: dict[str, object] = {}


def library():
    """reduce.c compiled and loaded (once per process), or None, said in one line, and the numpy
    reductions below do the same sums."""
    from ingest import native
    from ingest.progress import log
    with _lock:
        if "dll" not in _loaded:
            try:
                dll = native.open_library(Path(__file__).resolve().with_name("reduce.c"), "reduce_cpu_ok")
                p, i64, f64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
                dll.reduce_masks.restype = dll.reduce_flips.restype = dll.reduce_ranges.restype = None
                dll.reduce_ranges.argtypes = [i64, i64, p, p, p]
                dll.reduce_masks.argtypes = [i64, i64, p, p, p, f64, f64, p, p, i64, i64, p, p, i64, i64, p, p,
                                             p, p, p, p]
                dll.reduce_flips.argtypes = [i64, i64, p, p, i64, f64, f64, p, p]
                dll.reduce_flips_low.restype = None
                dll.reduce_flips_low.argtypes = [i64, i64, i64, p, p, i64, f64, f64, p, p]
                _loaded["dll"] = dll
            except native.Unavailable as why:
                _loaded["dll"] = None
                log(f"aggregate reductions: {why}; using numpy (slower)")
        return _loaded["dll"]


def _ptr(a: np.ndarray) -> int:
    return a.ctypes.data


class Partial:
    """Rows (statistic, n_on, node, node_on, bin, value) of one unit, collected as arrays."""

    def __init__(self):
        self.parts = []

    def add(self, statistic: str, value, n_on=-1, node=-1, node_on=-1, bin_=0):
        value = np.atleast_1d(np.asarray(value, np.float64))
        n = len(value)
        self.parts.append((statistic, np.broadcast_to(np.asarray(n_on, np.int32), n),
                           np.broadcast_to(np.asarray(node, np.int32), n),
                           np.broadcast_to(np.asarray(node_on, np.int32), n),
                           np.broadcast_to(np.asarray(bin_, np.int64), n), value))

    def by_size(self, statistic: str, counts: np.ndarray):
        """Per n_on, leaving out the sizes this unit has no mask of."""
        keep = np.flatnonzero(self.present)
        self.add(statistic, counts[keep], n_on=keep)

    def table(self, run_id: int, part: int) -> pa.Table:
        if not self.parts:  # a unit with nothing to add: the columns alone
            self.add("none", np.zeros(0))
        n = sum(len(p[5]) for p in self.parts)
        return pa.table({
            "run_id": _column(np.full(n, run_id), np.int32),
            "part": _column(np.full(n, part), np.int32),
            # dictionary-encoded: a few dozen names over thousands of rows
            "statistic": pa.DictionaryArray.from_arrays(
                pa.array(np.repeat(np.arange(len(self.parts), dtype=np.int32), [len(p[5]) for p in self.parts])),
                pa.array([p[0] for p in self.parts], pa.string())).dictionary_decode()
            if self.parts else pa.array([], pa.string()),
            "n_on": _column(np.concatenate([p[1] for p in self.parts]), np.int32),
            "node": _column(np.concatenate([p[2] for p in self.parts]), np.int32),
            "node_on": _column(np.concatenate([p[3] for p in self.parts]), np.int32),
            "bin": _column(np.concatenate([p[4] for p in self.parts]), np.int64),
            "value": _column(np.concatenate([p[5] for p in self.parts]), np.float64),
        })


def _add_flips(out: Partial, node: int, loss: np.ndarray, grad: np.ndarray, step: int, column: int | None = None):
    """Flips of `node` over loss (n,) and grad (n × columns) float32, the node's gradient in column
    `column` (default: column `node`), whose pairs are the halves of a (n / 2step, 2, step) reshape."""
    column = node if column is None else column
    lib = library()
    if lib is not None:
        sums, counts = np.zeros(8), np.zeros(5, np.int64)
        lib.reduce_flips(len(loss), step, _ptr(loss), _ptr(grad) + 4 * column, grad.shape[1], TIGHT_SHARE,
                         BOUND_SLACK, _ptr(sums), _ptr(counts))
        values = dict(zip(FLIP_SUMS, [counts[0], *sums, *counts[1:]]))
    else:
        pairs = loss.astype(np.float64).reshape(-1, 2, step)
        g = grad[:, column].astype(np.float64).reshape(pairs.shape)
        values = flip_sums(pairs[:, 0].ravel(), pairs[:, 1].ravel(), g[:, 0].ravel(), g[:, 1].ravel())
    for name, value in values.items():
        out.add(name, value, node=node)


def _histogram(out: Partial, name: str, values: np.ndarray, size_key: np.ndarray, k: int):
    """Counts and sums of values per (n_on, bin); values float64, size_key each value's n_on."""
    if not len(values):
        return
    bins = np.floor(values / BIN_WIDTH).astype(np.int64)
    b_lo = int(bins.min())
    span = int(bins.max()) - b_lo + 1
    key = size_key * span + (bins - b_lo)
    counts = np.bincount(key, minlength=k * span)
    totals = np.bincount(key, weights=values, minlength=k * span)
    keep = np.flatnonzero(counts)
    out.add(f"bin_n:{name}", counts[keep], n_on=keep // span, bin_=keep % span + b_lo)
    out.add(f"bin_sum:{name}", totals[keep], n_on=keep // span, bin_=keep % span + b_lo)


def reduce_pair(hidden: int, starts: list[int], size: int, loss: np.ndarray, grad: np.ndarray) -> Partial:
    """The partial sums of one mirror pair of shards (or of the single shard of a small N): loss
    (len(starts) · size,) and grad float32, the shards' masks in order."""
    out = Partial()
    k = hidden + 1
    masks = np.concatenate([np.arange(s, s + size, dtype=np.int64) for s in starts])
    sizes = popcount(masks).astype(np.int64)
    l64 = loss.astype(np.float64)
    ll = np.log(loss).astype(np.float64)  # the stored log_loss column (float32)
    count = np.bincount(sizes, minlength=k)
    out.present = count > 0

    def sums(values):
        return np.bincount(sizes, weights=values, minlength=k)

    out.by_size("n", count)
    out.by_size("sum_loss", sums(l64))
    out.by_size("sum_loss2", sums(l64 * l64))
    out.by_size("sum_log_loss", sums(ll))
    out.by_size("sum_log_loss2", sums(ll * ll))
    for name, values in (("loss", l64), ("log_loss", ll)):
        ref = values.mean()
        out.add(f"ref:{name}", ref)
        d = values - ref
        d2 = d * d
        for p, v in ((1, d), (2, d2), (3, d2 * d), (4, d2 * d2)):
            out.by_size(f"s{p}:{name}", sums(v))
    # a mask's complement sits at the mirrored position of the mirror shard
    comp = ll[::-1]
    out.by_size("sum_log_loss_x_complement", sums(ll * comp))
    if len(masks) == 1 << hidden:  # every mask in this one unit: the median and count near the best here
        _middle_of_all(out, masks, sizes, l64, count)
    _histogram(out, "loss", l64, sizes, k)
    _histogram(out, "log_loss", ll, sizes, k)
    lib = library()
    if lib is not None:
        _rows_native(lib, out, hidden, masks, loss, grad, l64, k)
    else:
        _extremes(out, masks, sizes, l64, count)
        _reduce_grads(out, hidden, masks, sizes, l64, grad, k)
        _by_node(out, hidden, masks, sizes, l64, grad, k)
    # flips of the nodes inside a shard
    shard_bits = size.bit_length() - 1
    nodes = min(shard_bits, hidden)
    if lib is not None:
        _add_flips_blocked(lib, out, nodes, size, loss, np.ascontiguousarray(grad))
        return out
    for node in range(nodes):  # one row per node, summed over the unit's shards, as the C path gives
        pairs = loss.astype(np.float64).reshape(-1, 2, 1 << node)  # a shard is a whole number of blocks
        g = grad[:, node].astype(np.float64).reshape(pairs.shape)
        for name, value in flip_sums(pairs[:, 0].ravel(), pairs[:, 1].ravel(), g[:, 0].ravel(),
                                     g[:, 1].ravel()).items():
            out.add(name, value, node=node)
    return out


FLIP_BLOCK_BITS = 12  # 2^12 masks' rows (~0.5 MB at N = 28) stay in a core's L2 cache


def _add_flips_blocked(lib, out: Partial, nodes: int, size: int, loss: np.ndarray, grad: np.ndarray):
    """The flips of nodes 0 … nodes − 1 within each shard of `size` masks, in C: the nodes below
    FLIP_BLOCK_BITS block by block, while a block's rows are in cache (each node's gradient is one
    value of a row, so a pass over the whole unit per node would read every row from memory for each
    node), the others over whole shards. Sums per node over every shard of the unit."""
    sums, counts = np.zeros((nodes, 8)), np.zeros((nodes, 5), np.int64)
    stride = grad.shape[1]
    block = min(size, 1 << FLIP_BLOCK_BITS)

    inside = min(nodes, block.bit_length() - 1)  # nodes whose pairs lie inside a block
    lib.reduce_flips_low(len(loss), block, inside, _ptr(loss), _ptr(grad), stride, TIGHT_SHARE, BOUND_SLACK,
                         _ptr(sums), _ptr(counts))
    for node in range(inside, nodes):
        for lo in range(0, len(loss), size):
            lib.reduce_flips(size, 1 << node, _ptr(loss) + 4 * lo, _ptr(grad) + 4 * (lo * stride + node), stride,
                             TIGHT_SHARE, BOUND_SLACK, _ptr(sums[node]), _ptr(counts[node]))
    for node in range(nodes):
        values = dict(zip(FLIP_SUMS, [counts[node, 0], *sums[node], *counts[node, 1:]]))
        for name, value in values.items():
            out.add(name, value, node=node)


def _order(masks, sizes, l64):
    """Positions in (size, loss, mask) order: best and worst of each size at its ends."""
    return np.lexsort((masks, l64, sizes))


def _extremes(out: Partial, masks, sizes, l64, count):
    """Best and worst of each size: ties go to the lowest mask for the best, the highest for the worst."""
    order = _order(masks, sizes, l64)
    ends = np.cumsum(count)
    keep = np.flatnonzero(count)
    first, last = order[ends[keep] - count[keep]], order[ends[keep] - 1]
    out.add("best_loss", l64[first], n_on=keep)
    out.add("best_mask", masks[first], n_on=keep)
    out.add("worst_loss", l64[last], n_on=keep)
    out.add("worst_mask", masks[last], n_on=keep)


def _middle_of_all(out: Partial, masks, sizes, l64, count):
    """The median loss and the count within NEAR_BEST of the best of each size, as summary.by_size
    finds them, when this unit holds every mask."""
    sorted_loss = l64[_order(masks, sizes, l64)]
    ends = np.cumsum(count)
    keep = np.flatnonzero(count)
    starts = ends[keep] - count[keep]
    mid_lo, mid_hi = starts + (count[keep] - 1) // 2, starts + count[keep] // 2
    out.add("median_loss", (sorted_loss[mid_lo] + sorted_loss[mid_hi]) / 2, n_on=keep)
    out.add("n_near_best", [np.searchsorted(sorted_loss[a:b], NEAR_BEST * sorted_loss[a], side="right")
                            for a, b in zip(starts, ends[keep])], n_on=keep)


def _by_node(out: Partial, hidden, masks, sizes, l64, grad, k):
    """Per (node, node_on, n_on): count, Σ loss, Σ the node's gradient — one bincount over every
    node at once, a chunk of masks at a time."""
    by_node = np.zeros((3, hidden * 2 * k))
    node_base = (np.arange(hidden, dtype=np.int64) * 2 * k)[None, :]
    nodes = np.arange(hidden, dtype=np.int64)
    for lo in range(0, len(masks), CHUNK):
        hi = min(lo + CHUNK, len(masks))
        flat = (node_base + ((masks[lo:hi, None] >> nodes) & 1) * k + sizes[lo:hi, None]).ravel()
        by_node[0] += np.bincount(flat, minlength=by_node.shape[1])
        by_node[1] += np.bincount(flat, weights=np.repeat(l64[lo:hi], hidden), minlength=by_node.shape[1])
        by_node[2] += np.bincount(flat, weights=grad[lo:hi].astype(np.float64).ravel(),
                                  minlength=by_node.shape[1])
    _write_by_node(out, by_node, k)


def _write_by_node(out: Partial, by_node: np.ndarray, k: int):
    keep = np.flatnonzero(by_node[0])
    node, rest = keep // (2 * k), keep % (2 * k)
    for name, row in (("node_n", 0), ("node_sum_loss", 1), ("node_sum_grad", 2)):
        out.add(name, by_node[row][keep], n_on=rest % k, node=node, node_on=rest // k)


def _grad_bins(grad, l64, k) -> tuple[_Bins, _Bins]:
    """Empty histograms of g and g / loss spanning this unit's values."""
    row_min, row_max = grad.min(axis=1).astype(np.float64), grad.max(axis=1).astype(np.float64)
    # loss > 0, so the extremes of g_i / loss are each mask's extreme g_i over its loss
    return _Bins(row_min.min(), row_max.max(), k), _Bins((row_min / l64).min(), (row_max / l64).max(), k)


def _rows_native(lib, out: Partial, hidden, masks, loss, grad, l64, k):
    """_extremes, _reduce_grads and _by_node in two passes of reduce.c over the masks: the ranges of
    the histograms, then everything else."""
    grad = np.ascontiguousarray(grad)
    ranges = np.zeros(5)
    lib.reduce_ranges(len(masks), hidden, _ptr(loss), _ptr(grad), _ptr(ranges))
    ref = float(ranges[0] / grad.size)
    out.add("ref:grad", ref)
    r, by_node = np.zeros((8, k)), np.zeros((3, hidden * 2 * k))
    bins_g, bins_gl = _Bins(ranges[1], ranges[2], k), _Bins(ranges[3], ranges[4], k)
    best, worst = np.zeros(k), np.zeros(k)
    best_mask, worst_mask = np.full(k, -1, np.int64), np.full(k, -1, np.int64)
    lib.reduce_masks(len(masks), hidden, _ptr(masks), _ptr(loss), _ptr(grad), ref, BIN_WIDTH, _ptr(r),
                     _ptr(by_node), bins_g.b_lo, bins_g.span, _ptr(bins_g.counts), _ptr(bins_g.totals),
                     bins_gl.b_lo, bins_gl.span, _ptr(bins_gl.counts), _ptr(bins_gl.totals),
                     _ptr(best), _ptr(best_mask), _ptr(worst), _ptr(worst_mask))
    keep = np.flatnonzero(best_mask >= 0)
    out.add("best_loss", best[keep], n_on=keep)
    out.add("best_mask", best_mask[keep], n_on=keep)
    out.add("worst_loss", worst[keep], n_on=keep)
    out.add("worst_mask", worst_mask[keep], n_on=keep)
    for q, name in enumerate(("sum_grad", "sum_grad2", "sum_grad_log", "sum_grad_log2",
                              "s1:grad", "s2:grad", "s3:grad", "s4:grad")):
        out.by_size(name, r[q])
    bins_g.write(out, "grad")
    bins_gl.write(out, "grad_log")
    _write_by_node(out, by_node, k)


class _Bins:
    """Counts and sums per (n_on, bin) over a value range known before the values are binned, so
    chunks of values add into one dense array."""

    def __init__(self, lo: float, hi: float, k: int):
        self.b_lo = int(np.floor(np.float64(lo) / BIN_WIDTH))
        self.span = int(np.floor(np.float64(hi) / BIN_WIDTH)) - self.b_lo + 1
        self.counts = np.zeros(k * self.span)
        self.totals = np.zeros(k * self.span)

    def add(self, values: np.ndarray, size_key: np.ndarray):
        """values (masks × nodes) float64, size_key (masks,) their n_on."""
        key = np.floor(values / BIN_WIDTH).astype(np.int64)
        key -= self.b_lo
        key += (size_key * self.span)[:, None]
        self.counts += np.bincount(key.ravel(), minlength=len(self.counts))
        self.totals += np.bincount(key.ravel(), weights=values.ravel(), minlength=len(self.totals))

    def write(self, out: Partial, name: str):
        keep = np.flatnonzero(self.counts)
        n_on, b = keep // self.span, keep % self.span + self.b_lo
        out.add(f"bin_n:{name}", self.counts[keep], n_on=n_on, bin_=b)
        out.add(f"bin_sum:{name}", self.totals[keep], n_on=n_on, bin_=b)


def _reduce_grads(out: Partial, hidden: int, masks, sizes, l64, grad, k: int):
    """Per size: Σg, Σg², Σg/loss, Σg²/loss² and Σ (g − a)^p about the unit's mean gradient a,
    summed over each mask's nodes; and the histograms of g and g / loss over (mask, node) pairs,
    a cache-sized chunk of masks at a time (the whole unit in float64 would cost gigabytes)."""
    ref = float(grad.sum(dtype=np.float64) / grad.size)
    out.add("ref:grad", ref)
    r = np.zeros((8, k))
    bins_g, bins_gl = _grad_bins(grad, l64, k)
    for lo in range(0, len(masks), CHUNK):
        hi = min(lo + CHUNK, len(masks))
        g = grad[lo:hi].astype(np.float64)
        inv = 1.0 / l64[lo:hi]
        key = sizes[lo:hi]
        s1 = g.sum(axis=1)
        s2 = (g * g).sum(axis=1)
        d = g - ref
        d2 = d * d
        for q, v in enumerate((s1, s2, s1 * inv, s2 * inv * inv, d.sum(axis=1), d2.sum(axis=1),
                               (d2 * d).sum(axis=1), (d2 * d2).sum(axis=1))):
            r[q] += np.bincount(key, weights=v, minlength=k)
        bins_g.add(g, key)
        bins_gl.add(g * inv[:, None], key)  # ∂ln(loss)/∂on_i = (∂loss/∂on_i) / loss
    for q, name in enumerate(("sum_grad", "sum_grad2", "sum_grad_log", "sum_grad_log2",
                              "s1:grad", "s2:grad", "s3:grad", "s4:grad")):
        out.by_size(name, r[q])
    bins_g.write(out, "grad")
    bins_gl.write(out, "grad_log")


# --- the spill of the first units' high-node numbers, so the regrouped units need not evaluate again ---
# A mirror-pair unit has every mask of its shards evaluated: it writes, per shard, the loss and the
# high nodes' gradients (float32, (N − s + 1) · 2^s values, each regrouped unit's part together) into
# store/exhaustive_scratch/<network identity>/, and a regrouped unit reads its slice of every shard
# from there instead of evaluating its masks again: the same float32 numbers (the kernel gives a
# mask the same numbers in any order), so the same partial sums, bit for bit. At N = 28 (s = 20)
# that is 9.7 GB on disk for the length of the exhaustive stages, against 2^28 masks evaluated a
# second time (about 120 CPU-s). Files are written whole (temporary name, fsync, rename); a shard
# whose file is missing (not enough free disk, a rerun whose first units were reused) makes its
# regrouped units evaluate as before. The identity folder names the network's numbers (its loss and
# gradients on a few masks), N, s and the spill's format, so a spill of another network or test set
# is never read (other code that changes the numbers reruns every mirror-pair unit, which rewrite
# every shard's file before a regrouped unit starts); the folder is removed when the regrouped stage
# ends.
SCRATCH = "exhaustive_scratch"
SCRATCH_MIN_FREE = 4 << 30  # a spill never leaves less than this free on the store's disk


SCRATCH_FORMAT = 2  # raise when the spill's layout changes: a spill of another layout is never read


def scratch_identity(kernel, g: Layout) -> str:
    from ingest.ledger import fingerprint
    probe = np.unique(np.concatenate([np.arange(min(64, 1 << g.hidden)),
                                      (1 << g.hidden) - 1 - np.arange(min(64, 1 << g.hidden))]))
    loss, grad = kernel.evaluate(probe.astype(np.int64))
    import hashlib
    numbers = hashlib.sha256(loss.tobytes() + grad.tobytes()).hexdigest()
    return fingerprint("exhaustive_scratch", numbers, g.hidden, g.shard_bits, SCRATCH_FORMAT)


def scratch_path(store: Path, run_id: int, identity: str, shard: int) -> Path:
    return Path(store) / SCRATCH / f"run-{run_id}-{identity}" / f"shard-{shard:06d}.f32"


def write_scratch(store: Path, run_id: int, identity: str, g: Layout, shard: int, loss: np.ndarray,
                  grad: np.ndarray) -> bool:
    """One shard's loss and high-node gradients spilled, whole or not at all; False (nothing
    written) when the disk would keep less than SCRATCH_MIN_FREE free."""
    import shutil

    from ingest.durable import make_dirs, replace
    path = scratch_path(store, run_id, identity, shard)
    make_dirs(path.parent)
    columns = np.empty((g.hidden - g.shard_bits + 1, len(loss)), np.float32)
    columns[0] = loss
    columns[1:] = grad[:, g.shard_bits:].T
    if shutil.disk_usage(path.parent).free < columns.nbytes + SCRATCH_MIN_FREE:
        return False
    # in the order the regrouped units read: unit j's slice of every column, then unit j + 1's
    width = g.size // g.shards
    by_unit = np.ascontiguousarray(columns.reshape(len(columns), g.shards, width).transpose(1, 0, 2))
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        by_unit.tofile(tmp)
        replace(tmp, path)
    except OSError:  # a full disk on the way: the regrouped units evaluate this shard instead
        tmp.unlink(missing_ok=True)
        return False
    return True


def read_scratch(store: Path, run_id: int, identity: str, g: Layout, j: int):
    """Loss and high-node gradients of regrouped unit j (second_masks' order) from the spilled
    shards, or None if a shard's file is missing or not whole."""
    import os
    width = g.size // g.shards
    nodes = g.hidden - g.shard_bits
    expected = (nodes + 1) * g.size * 4
    loss = np.empty(g.shards * width, np.float32)
    grad = np.empty((nodes, g.shards * width), np.float32)
    for shard in range(g.shards):
        path = scratch_path(store, run_id, identity, shard)
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError:
            return None
        try:
            if os.fstat(fd).st_size != expected:
                return None
            rows = slice(shard * width, (shard + 1) * width)
            data = os.pread(fd, (nodes + 1) * width * 4, j * (nodes + 1) * width * 4)
            if len(data) != (nodes + 1) * width * 4:
                return None
            columns = np.frombuffer(data, np.float32).reshape(nodes + 1, width)
            loss[rows] = columns[0]
            grad[:, rows] = columns[1:]
        finally:
            os.close(fd)
    return loss, np.ascontiguousarray(grad.T)


def remove_scratch(store: Path) -> None:
    import shutil
    shutil.rmtree(Path(store) / SCRATCH, ignore_errors=True)


def second_masks(g: Layout, j: int) -> np.ndarray:
    """Unit j of the second set: every high part (rows) with low parts j·S/K … (j + 1)·S/K − 1."""
    width = g.size // g.shards
    low = np.arange(j * width, (j + 1) * width, dtype=np.int64)
    return ((np.arange(g.shards, dtype=np.int64) << g.shard_bits)[:, None] + low[None, :]).ravel()


def evaluate_high(kernel, masks: np.ndarray, first: int) -> tuple[np.ndarray, np.ndarray]:
    """Loss and the gradients of the nodes first … N − 1 (the one-layer kernel skips the others;
    the deep evaluator computes all and they are dropped)."""
    if hasattr(kernel, "evaluate_last"):
        return kernel.evaluate_last(masks, first)
    loss, grad = kernel.evaluate(masks)
    return loss, np.ascontiguousarray(grad[:, first:])


def reduce_regrouped(g: Layout, masks: np.ndarray, loss: np.ndarray, grad: np.ndarray,
                     targets: pa.Table) -> Partial:
    """Over one regrouped unit (masks of second_masks, in its order; grad: the high nodes' columns
    only, as evaluate_high gives them): the flip sums of the high nodes, and what the merge needs for the exact median and count near the best of each size —
    the losses that fall in the bins holding the middle ranks, and how many masks of the bin
    holding the threshold lie at or below it."""
    out = Partial()
    width = g.size // g.shards
    l64 = loss.astype(np.float64)
    for node in range(g.shard_bits, g.hidden):  # bit node − s of the row: rows 2^(node − s) apart
        _add_flips(out, node, loss, grad, width << (node - g.shard_bits), column=node - g.shard_bits)
    t = {name: targets.column(name).to_numpy() for name in targets.column_names}
    k = g.hidden + 1
    sizes = popcount(masks).astype(np.int64)
    bins = np.floor(l64 / BIN_WIDTH).astype(np.int64)
    lo_bin, hi_bin, thr_bin = (np.full(k, -(1 << 62)) for _ in range(3))
    thr = np.zeros(k)
    lo_bin[t["n_on"]], hi_bin[t["n_on"]], thr_bin[t["n_on"]] = t["bin_lo"], t["bin_hi"], t["bin_threshold"]
    thr[t["n_on"]] = t["threshold"]
    middle = np.flatnonzero((bins == lo_bin[sizes]) | (bins == hi_bin[sizes]))
    out.add("median_value", l64[middle], n_on=sizes[middle], bin_=bins[middle])
    near = (bins == thr_bin[sizes]) & (l64 <= thr[sizes])
    out.present = np.ones(k, bool)
    out.by_size("near_in_bin", np.bincount(sizes[near], minlength=k))
    return out
