"""The merge of aggregate-only enumeration (ingest/aggregate.py makes the partial sums): a run's
units' partial sums added into the summary tables of ingest/summary.py, and the targets that let the
regrouped units make the median and the count near the best exact."""
from __future__ import annotations

import re
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from math import comb

import numpy as np
import pyarrow as pa

from ingest.aggregate import FLIP_SUMS
from ingest.summary import BIN_WIDTH, NEAR_BEST, _column, bins_rows


def targets(run_id: int, hidden: int, merged: Merged) -> pa.Table:
    """Per size, from the mirror-pair units' sums: the bins holding the two middle ranks (0-based
    (n − 1) // 2 and n // 2) with the count of masks in lower bins, and the threshold NEAR_BEST ×
    the best loss with its bin and the count in lower bins. Every mask below a bin's lower edge has a
    lower loss, so the regrouped units need only look inside these bins."""
    k = hidden + 1
    rows = {name: [] for name in ("n_on", "n", "rank_lo", "bin_lo", "before_lo", "rank_hi", "bin_hi",
                                  "before_hi", "threshold", "bin_threshold", "below_threshold")}
    if merged:
        n = _by_size(merged, "n", k)
        best, _ = _extreme(merged, "best", k)
        sizes, bins, counts, _ = _bins_of(merged, "loss")
    for size in np.flatnonzero(n) if merged else []:
        b, c = bins[sizes == size], counts[sizes == size]
        cum = np.cumsum(c)
        total = int(n[size])
        thr = NEAR_BEST * best[size]
        thr_bin = int(np.floor(thr / BIN_WIDTH))
        values = {"n_on": size, "n": total, "threshold": thr, "bin_threshold": thr_bin,
                  "below_threshold": int(c[b < thr_bin].sum())}
        for end, rank in (("lo", (total - 1) // 2), ("hi", total // 2)):
            i = int(np.searchsorted(cum, rank, side="right"))
            values.update({f"rank_{end}": rank, f"bin_{end}": int(b[i]), f"before_{end}": int(cum[i] - c[i])})
        for name, value in values.items():
            rows[name].append(value)
    types = {"threshold": np.float64, "n_on": np.int32}
    return pa.table({"run_id": _column(np.full(len(rows["n_on"]), run_id), np.int32),  # none: no rows
                     **{name: _column(v, types.get(name, np.int64)) for name, v in rows.items()}})


# Rows kept per unit through the merge (not summed): each unit's reference means and moments about
# them, its best and worst masks, its counts by size (the moments' weights) and the losses it found in
# the target bins.
PER_UNIT = r"^(n|ref:.*|s[1-4]:.*|(best|worst)_(loss|mask)|median_value)$"
KEY_BITS = (("n_on", 7), ("node", 7), ("node_on", 2))  # each stored + 1 (−1: does not apply)
BIN_BITS = 40  # bins offset by 2^39: values within ±1e9 at BIN_WIDTH 0.002 (Merged.add refuses others)
COLUMNS = ("part", "statistic", "n_on", "node", "node_on", "bin", "value")
AHEAD = 4  # files prepared ahead of the one being added: a few MB each, however many files there are


@dataclass
class Rows:
    """Some rows of one statistic as arrays; `sub` is each row's key (n_on, node, node_on, bin
    packed in an int64, in that order of significance), `part` its unit."""
    n_on: np.ndarray
    node: np.ndarray
    node_on: np.ndarray
    bin: np.ndarray
    value: np.ndarray
    sub: np.ndarray
    part: np.ndarray | None = None


class _Sums:
    """One statistic's running sums: `values` at the sorted keys of `snapshot`, and the keys each
    file added, in turn (`inserted`)."""

    def __init__(self):
        self.values = np.zeros(0)
        self.inserted: list[np.ndarray] = []
        # (keys, len(inserted)) replaced as one object, so that a reading thread sees the two together
        self.snapshot = (np.zeros(0, np.int64), 0)


class Merged:
    """A run's partial sums added up file by file, so memory holds a few units' rows and the running
    sums, never every row at once (13 million rows over 128 files at N = 24, 19 million at N = 28):
    per summed statistic its distinct keys and their sums, and the per-unit rows (PER_UNIT) of every
    unit. `summed(name)` and `kept(name)` give one statistic's rows.

    Summation order: each key's value is 0.0 plus its rows one at a time, in file order (the order
    given to `read`), then row order within a file — a running sum, the same on every rerun whatever
    the reading threads' timing: they only decode files and look keys up, and the files' rows are
    added in order by one thread."""

    def __init__(self):
        self._sums: dict[str, _Sums] = {}
        self._kept: dict[str, list[dict[str, np.ndarray]]] = {}

    @classmethod
    def read(cls, paths, threads: int = 2) -> "Merged":
        """The files' sums; a pool of threads reads and prepares (Parquet decoding and numpy release
        the GIL) at most AHEAD files beyond the one being added."""
        import pyarrow.parquet as pq
        merged = cls()

        def prepare(path):
            # statistic as the file stores it, dictionary-encoded: no string per row
            with pq.ParquetFile(path, read_dictionary=["statistic"]) as file:
                return merged._prepare(file.read(columns=list(COLUMNS), use_threads=False))

        with ThreadPoolExecutor(threads) as pool:
            pending = deque()
            for path in paths:
                pending.append(pool.submit(prepare, path))
                if len(pending) > AHEAD:
                    merged._add(pending.popleft().result())
            while pending:
                merged._add(pending.popleft().result())
        return merged

    def add(self, table: pa.Table):
        """One unit's rows (columns as Partial.table writes them; statistic plain or dictionary)."""
        self._add(self._prepare(table))

    def _prepare(self, table: pa.Table) -> list[tuple]:
        """A file's rows split by statistic (rows in file order within each), each summed one's keys
        packed and looked up in the sums as they stand (a reading thread may run ahead of `_add`:
        the lookup says which snapshot it used)."""
        names, index = _statistics(table.column("statistic"))
        order = np.argsort(index, kind="stable")
        bounds = np.searchsorted(index[order], np.arange(len(names) + 1))
        column = {c: table.column(c).to_numpy() for c in COLUMNS if c != "statistic"}
        per_unit = np.array([re.match(PER_UNIT, name) is not None for name in names], bool)
        # "n" is both kept (the weights of each unit's moments) and summed
        summed = ~per_unit | (np.array(names, object) == "n")
        bins = column["bin"]
        if len(bins) and max(-int(bins.min()), int(bins.max())) >= 1 << (BIN_BITS - 1) and \
                np.abs(bins[summed[index]].astype(np.int64)).max(initial=0) >= 1 << (BIN_BITS - 1):
            raise ValueError("a histogram bin beyond ±2^39: a loss or gradient ratio above 1e9")
        sub = _pack(column["n_on"], column["node"], column["node_on"], bins)[order]
        value = column["value"].astype(np.float64)[order]
        out = []
        for i, name in enumerate(names):
            rows = slice(bounds[i], bounds[i + 1])
            if bounds[i] == bounds[i + 1]:
                continue
            if per_unit[i]:
                out.append((name, "kept", {c: a[order[rows]] for c, a in column.items()}))
            if summed[i]:
                sums = self._sums.get(name)
                keys, version = sums.snapshot if sums is not None else (np.zeros(0, np.int64), 0)
                pos = np.searchsorted(keys, sub[rows])
                unknown = np.flatnonzero(keys[np.minimum(pos, len(keys) - 1)] != sub[rows]) if len(keys) else \
                    np.arange(len(pos))
                out.append((name, "summed", (sub[rows], value[rows], pos, version, unknown)))
        return out

    def _add(self, prepared: list[tuple]):
        """Add one prepared file: new keys (a few histogram bins at the edges) inserted in sorted
        place, then every row added in row order (np.add.at is unbuffered: a key repeated in the
        file gets each of its rows in turn, a running sum)."""
        for name, kind, rows in prepared:
            if kind == "kept":
                self._kept.setdefault(name, []).append(rows)
                continue
            sub, value, pos, version, unknown = rows
            sums = self._sums.get(name)
            if sums is None:
                sums = self._sums[name] = _Sums()
            keys = sums.snapshot[0]
            if version < len(sums.inserted):  # looked up before the keys added since: a row moves up by those below it
                pos = pos + np.searchsorted(np.sort(np.concatenate(sums.inserted[version:])), sub)
            if len(unknown):
                at = pos[unknown]
                found = at < len(keys)
                found[found] = keys[at[found]] == sub[unknown][found]
                new = np.unique(sub[unknown][~found])
                if len(new):
                    place = np.searchsorted(keys, new)
                    keys, sums.values = np.insert(keys, place, new), np.insert(sums.values, place, 0.0)
                    pos = pos + np.searchsorted(new, sub)
                    sums.inserted.append(new)
                    sums.snapshot = (keys, len(sums.inserted))
            np.add.at(sums.values, pos, value)

    def has(self, name: str) -> bool:
        return name in self._sums or name in self._kept

    def __bool__(self) -> bool:
        return bool(self._sums or self._kept)

    def summed(self, name: str) -> Rows:
        """A summed statistic's rows in key order (n_on, node, node_on, bin); none if absent."""
        sums = self._sums.get(name) or _Sums()
        return _unpack(sums.snapshot[0], sums.values)

    def kept(self, name: str) -> Rows:
        """A per-unit statistic's rows, in file order then row order."""
        files = self._kept.get(name, [])
        take = {c: np.concatenate([rows[c] for rows in files]) if files else np.zeros(0)
                for c in COLUMNS if c != "statistic"}
        out = {c: take[c].astype(np.int64) for c in ("n_on", "node", "node_on", "bin", "part")}
        return Rows(out["n_on"], out["node"], out["node_on"], out["bin"], take["value"].astype(np.float64),
                    _pack(out["n_on"], out["node"], out["node_on"], out["bin"]), out["part"])


def _statistics(statistic: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """The names in a file and each row's name as an index into them, through the few dozen
    names of each chunk's dictionary rather than row by row."""
    import pyarrow.compute as pc
    names: dict[str, int] = {}
    out = []
    for chunk in statistic.chunks:
        if not pa.types.is_dictionary(chunk.type):
            chunk = pc.dictionary_encode(chunk)
        lookup = np.array([names.setdefault(name, len(names)) for name in chunk.dictionary.to_pylist()], np.int64)
        out.append(lookup[chunk.indices.to_numpy(zero_copy_only=False)] if len(lookup) else np.zeros(0, np.int64))
    return list(names), np.concatenate(out) if out else np.zeros(0, np.int64)


def _pack(n_on, node, node_on, bins) -> np.ndarray:
    key = np.zeros(len(bins), np.int64)
    for values, (_, bits) in zip((n_on, node, node_on), KEY_BITS):
        key = (key << bits) | (np.asarray(values).astype(np.int64) + 1)
    return (key << BIN_BITS) | (np.asarray(bins).astype(np.int64) + (1 << (BIN_BITS - 1)))


def _unpack(keys: np.ndarray, values: np.ndarray) -> Rows:
    key = keys.copy()
    b = (key & ((1 << BIN_BITS) - 1)) - (1 << (BIN_BITS - 1))
    key >>= BIN_BITS
    parts = {}
    for column, bits in reversed(KEY_BITS):
        parts[column] = (key & ((1 << bits) - 1)) - 1
        key >>= bits
    return Rows(parts["n_on"], parts["node"], parts["node_on"], b, values, keys)


def _by_size(merged: Merged, name: str, k: int) -> np.ndarray:
    rows = merged.summed(name)
    values = np.zeros(k)
    values[rows.n_on] = rows.value
    return values


def _match(rows: Rows, sub: np.ndarray, name: str) -> np.ndarray:
    """rows' values at the keys `sub` (each must be there: the same keys as the rows they go with)."""
    i = np.minimum(np.searchsorted(rows.sub, sub), max(len(rows.sub) - 1, 0))
    if len(sub) and (not len(rows.sub) or np.any(rows.sub[i] != sub)):
        raise KeyError(f"{name}: a key missing from the merged sums")
    return rows.value[i] if len(sub) else np.zeros(0)


def _centred(merged: Merged, name: str, centre: float, k: int, per_mask: int) -> list[np.ndarray]:
    """Σ (x − centre)^p by size, p = 1 … 4, from each unit's Σ (x − a)^j about its own mean a,
    added unit by unit in the order of their part numbers."""
    ref, moments = merged.kept(f"ref:{name}"), [merged.kept(f"s{p}:{name}") for p in (1, 2, 3, 4)]
    units = np.unique(np.concatenate([ref.part] + [m.part for m in moments]))
    s = np.zeros((5, len(units), k))
    n = merged.kept("n")
    has = np.isin(n.part, units)
    s[0][np.searchsorted(units, n.part[has]), n.n_on[has]] = n.value[has] * per_mask
    for p, m in enumerate(moments, start=1):
        s[p][np.searchsorted(units, m.part), m.n_on] = m.value
    refs = np.zeros(len(units))
    refs[np.searchsorted(units, ref.part)] = ref.value  # a unit without one: 0.0
    out = []
    for p in (1, 2, 3, 4):
        terms = np.zeros((len(units), k))
        for j in range(p + 1):
            # the binomial coefficients unit by unit as scalars: each is C(p, j) (a − c)^(p − j)
            coef = np.array([comb(p, j) * (refs[u] - centre) ** (p - j) for u in range(len(units))])
            terms = terms + coef[:, None] * s[j]
        # a running sum over the units, in part order
        out.append(np.cumsum(terms, axis=0)[-1] if len(units) else np.zeros(k))
    return out


def _extreme(merged: Merged, which: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best (lowest loss, then lowest mask) or worst (highest loss, then highest mask) per size."""
    loss, mask = merged.kept(f"{which}_loss"), merged.kept(f"{which}_mask")
    # each unit's loss and mask of a size are paired by (part, n_on)
    by_loss, by_mask = (loss.part << 8) | loss.n_on, (mask.part << 8) | mask.n_on
    a, b = np.argsort(by_loss, kind="stable"), np.argsort(by_mask, kind="stable")
    if not np.array_equal(by_loss[a], by_mask[b]):
        raise KeyError(f"{which}_loss and {which}_mask: not one of each per unit and size")
    size, value, masks = loss.n_on[a], loss.value[a], mask.value[b].astype(np.int64)
    out_loss, out_mask = np.full(k, np.nan), np.zeros(k, np.int64)
    if not len(size):
        return out_loss, out_mask
    order = np.lexsort((masks, value, size))  # per size, the best first and the worst last
    change = size[order][1:] != size[order][:-1]
    pick = order[np.r_[True, change] if which == "best" else np.r_[change, True]]
    out_loss[size[pick]], out_mask[size[pick]] = value[pick], masks[pick]
    return out_loss, out_mask


def _bins_of(merged: Merged, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n_on, bin, count, sum) of the non-empty bins of one quantity, in (n_on, bin) order."""
    counts, totals = merged.summed(f"bin_n:{name}"), merged.summed(f"bin_sum:{name}")
    keep = counts.value > 0
    order = np.lexsort((counts.bin[keep], counts.n_on[keep]))
    sub = counts.sub[keep][order]
    return (counts.n_on[keep][order], counts.bin[keep][order], counts.value[keep][order].astype(np.int64),
            _match(totals, sub, f"bin_sum:{name}").astype(np.float64))


def _middle_and_near(merged: Merged, target: pa.Table | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The median loss and the count within NEAR_BEST of the best, per size: from the one unit that
    held every mask, or from the targets and what the regrouped units found in the target bins."""
    median, near = np.full(k, np.nan), np.zeros(k, np.int64)
    if merged.has("median_loss"):
        for name, out in (("median_loss", median), ("n_near_best", near)):
            rows = merged.summed(name)
            out[rows.n_on] = rows.value
        return median, near
    found = merged.kept("median_value")
    # the losses found sorted by (size, bin, loss): a target bin's losses are one slice of them
    where = (found.n_on << BIN_BITS) | (found.bin + (1 << (BIN_BITS - 1)))
    order = np.lexsort((found.value, where))
    where, values = where[order], found.value[order]
    in_bin = _by_size(merged, "near_in_bin", k)
    t = {name: target.column(name).to_numpy() for name in target.column_names}
    for row in range(target.num_rows):
        size = int(t["n_on"][row])
        ends = []
        for end in ("lo", "hi"):
            at = (size << BIN_BITS) | (int(t[f"bin_{end}"][row]) + (1 << (BIN_BITS - 1)))
            lo, hi = int(np.searchsorted(where, at, side="left")), int(np.searchsorted(where, at, side="right"))
            rank = int(t[f"rank_{end}"][row]) - int(t[f"before_{end}"][row])
            if not 0 <= rank < hi - lo:
                raise IndexError(f"size {size}: rank {rank} of a target bin holding {hi - lo} losses")
            ends.append(values[lo + rank])
        median[size] = (ends[0] + ends[1]) / 2
        near[size] = int(t["below_threshold"][row]) + int(in_bin[size])
    return median, near


def summarise(run_id: int, hidden: int, merged: Merged, target: pa.Table | None, samples: pa.Table,
              kernel) -> dict[str, pa.Table]:
    """The five summary tables of one run (ingest/summary.py's columns) from its units' partial sums
    (and the targets of the regrouped units, None with one unit); the sampled masks' flips
    (summary_sample_flips) are evaluated afresh by the kernel."""
    return {**merged_tables(run_id, hidden, merged, target),
            "summary_sample_flips": sample_flips(run_id, hidden, samples, kernel)}


def merged_tables(run_id: int, hidden: int, merged: Merged, target: pa.Table | None) -> dict[str, pa.Table]:
    """The four summary tables that are sums over every mask: summarise without the sampled flips."""
    k = hidden + 1
    n = _by_size(merged, "n", k)
    total = float(n.sum())
    col = {name: _by_size(merged, name, k) for name in (
        "sum_loss", "sum_loss2", "sum_log_loss", "sum_log_loss2", "sum_grad", "sum_grad2", "sum_grad_log",
        "sum_grad_log2", "sum_log_loss_x_complement")}
    centred = {
        "loss": _centred(merged, "loss", col["sum_loss"].sum() / total, k, 1),
        "log_loss": _centred(merged, "log_loss", col["sum_log_loss"].sum() / total, k, 1),
        "grad": _centred(merged, "grad", col["sum_grad"].sum() / (total * hidden), k, hidden),
    }
    median, near = _middle_and_near(merged, target, k)
    by_size = by_size_table(run_id, n, col, centred, _extreme(merged, "best", k), _extreme(merged, "worst", k),
                            median, near)
    # in summary.by_node's order: node, then node_on, then n_on
    counts = merged.summed("node_n")
    keep = np.flatnonzero(counts.value > 0)
    keep = keep[np.lexsort((counts.n_on[keep], counts.node_on[keep], counts.node[keep]))]
    by_node = pa.table({
        "run_id": _column(np.full(len(keep), run_id), np.int32),
        "node": _column(counts.node[keep], np.int32),
        "node_on": _column(counts.node_on[keep], np.int32),
        "n_on": _column(counts.n_on[keep], np.int32),
        "n": _column(counts.value[keep], np.int64),
        **{name: _column(_match(merged.summed(f"node_{name}"), counts.sub[keep], f"node_{name}"), np.float64)
           for name in ("sum_loss", "sum_grad")},
    })
    flips = {"run_id": _column(np.full(hidden, run_id), np.int32), "node": _column(np.arange(hidden), np.int32)}
    for name in FLIP_SUMS:
        rows, values = merged.summed(name), np.zeros(hidden)
        # one row per node: no size, no node_on, bin 0
        at = (rows.n_on == -1) & (rows.node_on == -1) & (rows.bin == 0) & (rows.node >= 0) & (rows.node < hidden)
        values[rows.node[at]] = rows.value[at]
        flips[name] = _column(values, np.float64 if name.startswith("sum_") else np.int64)
    parts = [bins_rows(run_id, name, *_bins_of(merged, name)) for name in ("loss", "log_loss", "grad", "grad_log")]
    return {
        "summary_by_size": by_size,
        "summary_by_node": by_node,
        "summary_flips": pa.table(flips),
        "summary_bins": pa.concat_tables(parts),
    }


def by_size_table(run_id: int, n: np.ndarray, col: dict, centred: dict, best: tuple, worst: tuple,
                  median: np.ndarray, near: np.ndarray) -> pa.Table:
    """summary_by_size from the merged sums by size (`col`), the centred moments, (loss, mask) of the
    best and the worst mask of each size, the median and the count near the best."""
    k = len(n)
    return pa.table({
        "run_id": _column(np.full(k, run_id), np.int32),
        "n_on": _column(np.arange(k), np.int32),
        "n": _column(n, np.int64),
        **{name: _column(col[name], np.float64) for name in (
            "sum_loss", "sum_loss2", "sum_log_loss", "sum_log_loss2", "sum_grad", "sum_grad2", "sum_grad_log",
            "sum_grad_log2")},
        **{f"c{p}_{name}": _column(centred[name][p - 1], np.float64)
           for name in ("loss", "log_loss") for p in (1, 2, 3, 4)},
        **{f"c{p}_grad": _column(centred["grad"][p - 1], np.float64) for p in (1, 2, 3, 4)},
        "best_mask": _column(best[1], np.int64),
        "best_loss": _column(best[0], np.float64),
        "worst_mask": _column(worst[1], np.int64),
        "worst_loss": _column(worst[0], np.float64),
        "median_loss": _column(median, np.float64),
        "n_near_best": _column(near, np.int64),
        # a mask of size k has a complement of size N − k: those sums are the other size's
        "sum_log_loss_complement": _column(col["sum_log_loss"][::-1], np.float64),
        "sum_log_loss_complement2": _column(col["sum_log_loss2"][::-1], np.float64),
        "sum_log_loss_x_complement": _column(col["sum_log_loss_x_complement"], np.float64),
    })


def sample_flips(run_id: int, hidden: int, samples: pa.Table, kernel) -> pa.Table:
    """summary.sample_flips with both ends of each flip evaluated by the kernel, not looked up."""
    from ingest import summary
    mask = samples.column("mask").to_numpy()
    node = np.tile(np.arange(hidden, dtype=np.int64), len(mask))
    rows = np.repeat(np.arange(len(mask)), hidden)
    ends = np.unique(np.concatenate([mask[rows] & ~(np.int64(1) << node), mask[rows] | (np.int64(1) << node)]))
    if not len(ends):
        return summary.sample_flips(run_id, np.ones(2, np.float32), np.zeros((2, hidden), np.float32),
                                    samples.slice(0, 0))
    loss, grad = kernel.evaluate(ends)
    return summary.sample_flips(run_id, loss, grad, samples, ends)


