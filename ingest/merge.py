"""The merge of aggregate-only enumeration (ingest/aggregate.py makes the partial sums): a run's
units' partial sums added into the summary tables of ingest/summary.py, and the targets that let the
regrouped units make the median and the count near the best exact."""
from __future__ import annotations

from math import comb

import numpy as np
import pyarrow as pa

from ingest.aggregate import FLIP_SUMS, Partial
from ingest.summary import BIN_WIDTH, NEAR_BEST, _column


def targets(run_id: int, hidden: int, merged: Merged) -> pa.Table:
    """Per size, from the mirror-pair units' sums: the bins holding the two middle ranks (0-based
    (n − 1) // 2 and n // 2) with the count of masks in lower bins, and the threshold NEAR_BEST ×
    the best loss with its bin and the count in lower bins. Every mask below a bin's lower edge has a
    lower loss, so the regrouped units need only look inside these bins."""
    k = hidden + 1
    sums = merged.sums
    if sums:
        n = _by_size(sums, "n", k)
        best, _ = _extreme(merged.rows, "best", k)
        sizes, bins, counts, _ = _bins_of(sums, "loss")
    rows = {name: [] for name in ("n_on", "n", "rank_lo", "bin_lo", "before_lo", "rank_hi", "bin_hi",
                                  "before_hi", "threshold", "bin_threshold", "below_threshold")}
    for size in np.flatnonzero(n) if sums else []:
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


class Merged:
    """A run's partial sums added up file by file, so memory holds one unit's rows and the running
    sums, never the whole table (tens of millions of rows at N = 28): `sums` {statistic: {(n_on,
    node, node_on, bin): value}}, and `rows`, the per-unit rows (PER_UNIT) of every unit."""

    def __init__(self):
        self.codes: dict[str, int] = {}
        self.keys, self.values = np.zeros(0, np.int64), np.zeros(0)
        self.kept: list[pa.Table] = []

    @classmethod
    def read(cls, paths) -> "Merged":
        import pyarrow.parquet as pq
        merged = cls()
        for path in paths:
            merged.add(pq.read_table(path))
        return merged

    def add(self, table: pa.Table):
        import pyarrow.compute as pc
        per_unit = pc.match_substring_regex(table["statistic"], PER_UNIT)
        self.kept.append(table.filter(per_unit))
        rows = table.filter(pc.invert(pc.and_(per_unit, pc.invert(pc.equal(table["statistic"], "n")))))
        if not rows.num_rows:
            return
        encoded = pc.dictionary_encode(rows["statistic"]).combine_chunks()
        names = [self.codes.setdefault(name, len(self.codes)) for name in encoded.dictionary.to_pylist()]
        key = np.asarray(names, np.int64)[encoded.indices.to_numpy()]
        for column, bits in KEY_BITS:
            key = (key << bits) | (rows[column].to_numpy().astype(np.int64) + 1)
        bins = rows["bin"].to_numpy().astype(np.int64)
        if len(bins) and np.abs(bins).max() >= 1 << (BIN_BITS - 1):
            raise ValueError("a histogram bin beyond ±2^39: a loss or gradient ratio above 1e9")
        key = (key << BIN_BITS) | (bins + (1 << (BIN_BITS - 1)))
        # the running sums first, then this unit's rows: every rerun adds in the same order
        keys = np.concatenate([self.keys, key])
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.values = np.bincount(inverse.ravel(), weights=np.concatenate([self.values, rows["value"].to_numpy()]),
                                  minlength=len(self.keys))

    @property
    def rows(self) -> pa.Table:
        return pa.concat_tables(self.kept) if self.kept else Partial().table(0, 0)

    @property
    def sums(self) -> dict[str, dict[tuple, float]]:
        names = {code: name for name, code in self.codes.items()}
        key = self.keys.copy()
        b = (key & ((1 << BIN_BITS) - 1)) - (1 << (BIN_BITS - 1))
        key >>= BIN_BITS
        parts = {}
        for column, bits in reversed(KEY_BITS):
            parts[column] = (key & ((1 << bits) - 1)) - 1
            key >>= bits
        out: dict[str, dict[tuple, float]] = {}
        for code, n_on, node, node_on, bin_, value in zip(key.tolist(), parts["n_on"].tolist(), parts["node"].tolist(),
                                                          parts["node_on"].tolist(), b.tolist(), self.values.tolist()):
            out.setdefault(names[code], {})[(n_on, node, node_on, bin_)] = value
        return out


def _by_size(sums: dict, name: str, k: int) -> np.ndarray:
    values = np.zeros(k)
    for (n_on, _, _, _), value in sums.get(name, {}).items():
        values[n_on] = value
    return values


def _centred(table: pa.Table, name: str, centre: float, k: int, per_mask: int) -> list[np.ndarray]:
    """Σ (x − centre)^p by size, p = 1 … 4, from each unit's Σ (x − a)^j about its own mean a."""
    import pyarrow.compute as pc
    out = [np.zeros(k) for _ in range(4)]
    rows = table.filter(pc.is_in(table["statistic"], pa.array([f"ref:{name}"] + [f"s{p}:{name}" for p in (1, 2, 3, 4)])))
    parts = rows.column("part").to_numpy()
    stats = rows.column("statistic").to_pylist()
    n_ons = rows.column("n_on").to_numpy()
    values = rows.column("value").to_numpy()
    counts = {}
    for row in table.filter(pc.equal(table["statistic"], "n")).to_pylist():
        counts.setdefault(row["part"], np.zeros(k))[row["n_on"]] = row["value"] * per_mask
    for part in np.unique(parts):
        here = parts == part
        s = [counts.get(int(part), np.zeros(k))] + [np.zeros(k) for _ in range(4)]
        ref = 0.0
        for stat, n_on, value in zip(np.array(stats, dtype=object)[here], n_ons[here], values[here]):
            if stat.startswith("ref:"):
                ref = value
            else:
                s[int(stat[1])][n_on] = value
        shift = ref - centre
        for p in (1, 2, 3, 4):
            out[p - 1] += sum(comb(p, j) * shift ** (p - j) * s[j] for j in range(p + 1))
    return out


def _extreme(table: pa.Table, which: str, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Best (lowest loss, then lowest mask) or worst (highest loss, then highest mask) per size."""
    import pyarrow.compute as pc
    rows = table.filter(pc.is_in(table["statistic"], pa.array([f"{which}_loss", f"{which}_mask"])))
    found: dict[tuple[int, int], dict] = {}
    for row in rows.to_pylist():
        found.setdefault((row["part"], row["n_on"]), {})[row["statistic"]] = row["value"]
    loss, mask = np.full(k, np.nan), np.zeros(k, np.int64)
    for (_, n_on), v in found.items():
        candidate = (v[f"{which}_loss"], int(v[f"{which}_mask"]))
        current = (loss[n_on], int(mask[n_on]))
        better = candidate < current if which == "best" else candidate > current
        if np.isnan(loss[n_on]) or better:
            loss[n_on], mask[n_on] = candidate
    return loss, mask


def _bins_of(sums: dict, name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(n_on, bin, count, sum) of the non-empty bins of one quantity, in (n_on, bin) order."""
    counts, totals = sums.get(f"bin_n:{name}", {}), sums.get(f"bin_sum:{name}", {})
    keys = sorted((n_on, b) for (n_on, _, _, b), n in counts.items() if n > 0)
    return (np.array([key[0] for key in keys], np.int64), np.array([key[1] for key in keys], np.int64),
            np.array([counts[(a, -1, -1, b)] for a, b in keys], np.int64),
            np.array([totals[(a, -1, -1, b)] for a, b in keys], np.float64))


def _middle_and_near(table: pa.Table, sums: dict, target: pa.Table | None, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The median loss and the count within NEAR_BEST of the best, per size: from the one unit that
    held every mask, or from the targets and what the regrouped units found in the target bins."""
    import pyarrow.compute as pc
    median, near = np.full(k, np.nan), np.zeros(k, np.int64)
    if "median_loss" in sums:
        for (n_on, _, _, _), value in sums["median_loss"].items():
            median[n_on] = value
        for (n_on, _, _, _), value in sums["n_near_best"].items():
            near[n_on] = value
        return median, near
    found = table.filter(pc.equal(table["statistic"], "median_value"))
    f_size, f_bin, f_value = (found.column(c).to_numpy() for c in ("n_on", "bin", "value"))
    in_bin = _by_size(sums, "near_in_bin", k)
    for row in target.to_pylist():
        size = row["n_on"]
        ends = []
        for end in ("lo", "hi"):
            values = np.sort(f_value[(f_size == size) & (f_bin == row[f"bin_{end}"])])
            ends.append(values[row[f"rank_{end}"] - row[f"before_{end}"]])
        median[size] = (ends[0] + ends[1]) / 2
        near[size] = row["below_threshold"] + int(in_bin[size])
    return median, near


def summarise(run_id: int, hidden: int, merged: Merged, target: pa.Table | None, samples: pa.Table,
              kernel) -> dict[str, pa.Table]:
    """The five summary tables of one run (ingest/summary.py's columns) from its units' partial sums
    (and the targets of the regrouped units, None with one unit); the sampled masks' flips
    (summary_sample_flips) are evaluated afresh by the kernel."""
    k = hidden + 1
    sums, partials = merged.sums, merged.rows
    n = _by_size(sums, "n", k)
    total = float(n.sum())
    col = {name: _by_size(sums, name, k) for name in (
        "sum_loss", "sum_loss2", "sum_log_loss", "sum_log_loss2", "sum_grad", "sum_grad2", "sum_grad_log",
        "sum_grad_log2", "sum_log_loss_x_complement")}
    centred = {
        "loss": _centred(partials, "loss", col["sum_loss"].sum() / total, k, 1),
        "log_loss": _centred(partials, "log_loss", col["sum_log_loss"].sum() / total, k, 1),
        "grad": _centred(partials, "grad", col["sum_grad"].sum() / (total * hidden), k, hidden),
    }
    best_loss, best_mask = _extreme(partials, "best", k)
    worst_loss, worst_mask = _extreme(partials, "worst", k)
    loss_bins = _bins_of(sums, "loss")
    median, near = _middle_and_near(partials, sums, target, k)
    by_size = pa.table({
        "run_id": _column(np.full(k, run_id), np.int32),
        "n_on": _column(np.arange(k), np.int32),
        "n": _column(n, np.int64),
        **{name: _column(col[name], np.float64) for name in (
            "sum_loss", "sum_loss2", "sum_log_loss", "sum_log_loss2", "sum_grad", "sum_grad2", "sum_grad_log",
            "sum_grad_log2")},
        **{f"c{p}_{name}": _column(centred[name][p - 1], np.float64)
           for name in ("loss", "log_loss") for p in (1, 2, 3, 4)},
        **{f"c{p}_grad": _column(centred["grad"][p - 1], np.float64) for p in (1, 2, 3, 4)},
        "best_mask": _column(best_mask, np.int64),
        "best_loss": _column(best_loss, np.float64),
        "worst_mask": _column(worst_mask, np.int64),
        "worst_loss": _column(worst_loss, np.float64),
        "median_loss": _column(median, np.float64),
        "n_near_best": _column(near, np.int64),
        # a mask of size k has a complement of size N − k: those sums are the other size's
        "sum_log_loss_complement": _column(col["sum_log_loss"][::-1], np.float64),
        "sum_log_loss_complement2": _column(col["sum_log_loss2"][::-1], np.float64),
        "sum_log_loss_x_complement": _column(col["sum_log_loss_x_complement"], np.float64),
    })
    # in summary.by_node's order: node, then node_on, then n_on
    keys = sorted((key for key, value in sums.get("node_n", {}).items() if value > 0),
                  key=lambda key: (key[1], key[2], key[0]))
    by_node = pa.table({
        "run_id": _column(np.full(len(keys), run_id), np.int32),
        "node": _column([key[1] for key in keys], np.int32),
        "node_on": _column([key[2] for key in keys], np.int32),
        "n_on": _column([key[0] for key in keys], np.int32),
        "n": _column([sums["node_n"][key] for key in keys], np.int64),
        "sum_loss": _column([sums["node_sum_loss"][key] for key in keys], np.float64),
        "sum_grad": _column([sums["node_sum_grad"][key] for key in keys], np.float64),
    })
    flips = {"run_id": _column(np.full(hidden, run_id), np.int32), "node": _column(np.arange(hidden), np.int32)}
    for name in FLIP_SUMS:
        values = [sums.get(name, {}).get((-1, node, -1, 0), 0.0) for node in range(hidden)]
        flips[name] = _column(values, np.float64 if name.startswith("sum_") else np.int64)
    parts = []
    for name in ("loss", "log_loss", "grad", "grad_log"):
        size, b, count, value = loss_bins if name == "loss" else _bins_of(sums, name)
        parts.append(pa.table({
            "run_id": _column(np.full(len(count), run_id), np.int32),
            "quantity": pa.array([name] * len(count), pa.string()),
            "n_on": _column(size, np.int32),
            "bin": _column(b, np.int64),
            "bin_width": _column(np.full(len(count), BIN_WIDTH), np.float64),
            "n": _column(count, np.int64),
            "sum_value": _column(value, np.float64),
        }))
    return {
        "summary_by_size": by_size,
        "summary_by_node": by_node,
        "summary_flips": pa.table(flips),
        "summary_bins": pa.concat_tables(parts),
        "summary_sample_flips": sample_flips(run_id, hidden, samples, kernel),
    }


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


