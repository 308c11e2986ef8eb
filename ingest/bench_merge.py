"""`python -m ingest.bench_merge STORE`: the merge of aggregate-only enumeration, before and after.

On an existing store built with `--exhaustive-rows none` (and more than one shard), times, for each
run (or the one given by --run), the two driver-side merges that lie on a run's critical path:

- targets: the mirror-pair units' files read and summed, then merge.targets (the `exhaustive_targets` stage);
- summary: every unit's files read and summed, then the four summary tables that are sums over all
  masks (the `summary` stage without the sampled flips, which the kernel evaluates and the merge
  does not touch)

the baseline way (a frozen copy, below, of the merge before it was vectorised: one np.unique over
every running key per file, Python loops over rows) and the current ingest/merge.py, in the same
process, alternately, --repeat times each (the best time is printed). The files are read once
beforehand so that both find them in the page cache. Then checks the targets are equal exactly and
the summary tables to rtol 1e-12 (and says whether they are bit-identical), and prints the peak
RSS of the process after the first current-way merges (the baseline's run after it).
"""
from __future__ import annotations

import argparse
import re
import resource
import sys
import time
from math import comb
from pathlib import Path

import numpy as np
import pyarrow as pa

from ingest.errors import Parser, UserError



def parser() -> argparse.ArgumentParser:
    p = Parser(prog="python -m ingest.bench_merge",
                description="Time the merge of --exhaustive-rows none's partial sums: baseline against current.")
    p.add_argument("store", type=Path, help="a store built with --exhaustive-rows none and several shards")
    p.add_argument("--run", type=int, default=None, help="one run id (default: every run with partial sums)")
    p.add_argument("--repeat", type=int, default=2, help="timings of each way, best kept (default: 2)")
    return p


# ---- the baseline: the merge as it was before (ingest/merge.py), frozen here to time against ----

_PER_UNIT = r"^(n|ref:.*|s[1-4]:.*|(best|worst)_(loss|mask)|median_value)$"
_KEY_BITS = (("n_on", 7), ("node", 7), ("node_on", 2))
_BIN_BITS = 40


class _BaselineMerged:
    def __init__(self):
        self.codes: dict[str, int] = {}
        self.keys, self.values = np.zeros(0, np.int64), np.zeros(0)
        self.kept: list[pa.Table] = []

    @classmethod
    def read(cls, paths):
        import pyarrow.parquet as pq
        merged = cls()
        for path in paths:
            merged.add(pq.read_table(path))
        return merged

    def add(self, table):
        import pyarrow.compute as pc
        per_unit = pc.match_substring_regex(table["statistic"], _PER_UNIT)
        self.kept.append(table.filter(per_unit))
        rows = table.filter(pc.invert(pc.and_(per_unit, pc.invert(pc.equal(table["statistic"], "n")))))
        if not rows.num_rows:
            return
        encoded = pc.dictionary_encode(rows["statistic"]).combine_chunks()
        names = [self.codes.setdefault(name, len(self.codes)) for name in encoded.dictionary.to_pylist()]
        key = np.asarray(names, np.int64)[encoded.indices.to_numpy()]
        for column, bits in _KEY_BITS:
            key = (key << bits) | (rows[column].to_numpy().astype(np.int64) + 1)
        bins = rows["bin"].to_numpy().astype(np.int64)
        key = (key << _BIN_BITS) | (bins + (1 << (_BIN_BITS - 1)))
        keys = np.concatenate([self.keys, key])
        self.keys, inverse = np.unique(keys, return_inverse=True)
        self.values = np.bincount(inverse.ravel(), weights=np.concatenate([self.values, rows["value"].to_numpy()]),
                                  minlength=len(self.keys))

    @property
    def rows(self):
        from ingest.aggregate import Partial
        return pa.concat_tables(self.kept) if self.kept else Partial().table(0, 0)

    @property
    def sums(self):
        names = {code: name for name, code in self.codes.items()}
        key = self.keys.copy()
        b = (key & ((1 << _BIN_BITS) - 1)) - (1 << (_BIN_BITS - 1))
        key >>= _BIN_BITS
        parts = {}
        for column, bits in reversed(_KEY_BITS):
            parts[column] = (key & ((1 << bits) - 1)) - 1
            key >>= bits
        out: dict = {}
        for code, n_on, node, node_on, bin_, value in zip(key.tolist(), parts["n_on"].tolist(), parts["node"].tolist(),
                                                          parts["node_on"].tolist(), b.tolist(), self.values.tolist()):
            out.setdefault(names[code], {})[(n_on, node, node_on, bin_)] = value
        return out


def _b_by_size(sums, name, k):
    values = np.zeros(k)
    for (n_on, _, _, _), value in sums.get(name, {}).items():
        values[n_on] = value
    return values


def _b_centred(table, name, centre, k, per_mask):
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


def _b_extreme(table, which, k):
    import pyarrow.compute as pc
    rows = table.filter(pc.is_in(table["statistic"], pa.array([f"{which}_loss", f"{which}_mask"])))
    found: dict = {}
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


def _b_bins_of(sums, name):
    counts, totals = sums.get(f"bin_n:{name}", {}), sums.get(f"bin_sum:{name}", {})
    keys = sorted((n_on, b) for (n_on, _, _, b), n in counts.items() if n > 0)
    return (np.array([key[0] for key in keys], np.int64), np.array([key[1] for key in keys], np.int64),
            np.array([counts[(a, -1, -1, b)] for a, b in keys], np.int64),
            np.array([totals[(a, -1, -1, b)] for a, b in keys], np.float64))


def _b_middle_and_near(table, sums, target, k):
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
    in_bin = _b_by_size(sums, "near_in_bin", k)
    for row in target.to_pylist():
        size = row["n_on"]
        ends = []
        for end in ("lo", "hi"):
            values = np.sort(f_value[(f_size == size) & (f_bin == row[f"bin_{end}"])])
            ends.append(values[row[f"rank_{end}"] - row[f"before_{end}"]])
        median[size] = (ends[0] + ends[1]) / 2
        near[size] = row["below_threshold"] + int(in_bin[size])
    return median, near


def baseline_targets(run_id, hidden, merged):
    from ingest.summary import BIN_WIDTH, NEAR_BEST, _column
    k = hidden + 1
    sums = merged.sums
    if sums:
        n = _b_by_size(sums, "n", k)
        best, _ = _b_extreme(merged.rows, "best", k)
        sizes, bins, counts, _ = _b_bins_of(sums, "loss")
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
    return pa.table({"run_id": _column(np.full(len(rows["n_on"]), run_id), np.int32),
                     **{name: _column(v, types.get(name, np.int64)) for name, v in rows.items()}})


def baseline_tables(run_id, hidden, merged, target):
    """The four summary tables from the baseline's sums; the tables are assembled by the same code as
    the current merge's (merge.by_size_table, summary.bins_rows), so only the sums are timed apart."""
    from ingest.aggregate import FLIP_SUMS
    from ingest.merge import by_size_table
    from ingest.summary import _column, bins_rows
    k = hidden + 1
    sums, partials = merged.sums, merged.rows
    n = _b_by_size(sums, "n", k)
    total = float(n.sum())
    col = {name: _b_by_size(sums, name, k) for name in (
        "sum_loss", "sum_loss2", "sum_log_loss", "sum_log_loss2", "sum_grad", "sum_grad2", "sum_grad_log",
        "sum_grad_log2", "sum_log_loss_x_complement")}
    centred = {
        "loss": _b_centred(partials, "loss", col["sum_loss"].sum() / total, k, 1),
        "log_loss": _b_centred(partials, "log_loss", col["sum_log_loss"].sum() / total, k, 1),
        "grad": _b_centred(partials, "grad", col["sum_grad"].sum() / (total * hidden), k, hidden),
    }
    loss_bins = _b_bins_of(sums, "loss")
    median, near = _b_middle_and_near(partials, sums, target, k)
    by_size = by_size_table(run_id, n, col, centred, _b_extreme(partials, "best", k),
                            _b_extreme(partials, "worst", k), median, near)
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
    parts = [bins_rows(run_id, name, *(loss_bins if name == "loss" else _b_bins_of(sums, name)))
             for name in ("loss", "log_loss", "grad", "grad_log")]
    return {"summary_by_size": by_size, "summary_by_node": by_node, "summary_flips": pa.table(flips),
            "summary_bins": pa.concat_tables(parts)}


# ---- the benchmark ----

def run_files(store: Path) -> dict[int, dict[str, list[Path]]]:
    """Each run's partial-sum files, by kind, in unit order (the stages' order)."""
    out: dict[int, dict[str, list[Path]]] = {}
    for path in (store / "exhaustive_sums").glob("run-*-*-*.parquet"):
        m = re.fullmatch(r"run-(\d+)-(part|regrouped)-(\d+)\.parquet", path.name)
        if m:
            out.setdefault(int(m[1]), {"part": [], "regrouped": []})[m[2]].append(path)
    for kinds in out.values():
        for paths in kinds.values():
            paths.sort(key=lambda p: int(p.stem.rsplit("-", 1)[1]))
    return out


def hidden_of(store: Path, run_id: int) -> int:
    """N as the stages pass it (config.nodes): the sizes 0 … N of the run's stored summary_by_size."""
    import pyarrow.parquet as pq
    path = store / "summary_by_size" / f"run-{run_id}.parquet"
    if not path.exists():
        raise UserError(f"{path} is missing: build the store to the end first")
    return pq.read_metadata(path).num_rows - 1


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def compare(old: dict[str, pa.Table], new: dict[str, pa.Table]) -> tuple[bool, bool, list[str]]:
    """(equal to rtol 1e-12, bit-identical, what differs)."""
    close, identical, why = True, True, []
    for name, a in old.items():
        b = new[name]
        if a.column_names != b.column_names or a.num_rows != b.num_rows:
            return False, False, [f"{name}: columns or rows differ"]
        identical &= a.equals(b)
        for column in a.column_names:
            x, y = a[column].to_numpy(), b[column].to_numpy()
            if x.dtype.kind == "f":
                ok = np.isclose(x, y, rtol=1e-12, atol=0, equal_nan=True)
            else:
                ok = x == y
            if not ok.all():
                close = False
                why.append(f"{name}.{column}: {x[~ok][:3]} vs {y[~ok][:3]}")
    return close, identical, why


def bench(store: Path, run_id: int, files: dict[str, list[Path]], repeat: int) -> bool:
    import pyarrow.parquet as pq

    from ingest import merge
    hidden = hidden_of(store, run_id)
    every = files["part"] + files["regrouped"]
    target_path = store / "exhaustive_targets" / f"run-{run_id}.parquet"
    if not files["part"] or not files["regrouped"] or not target_path.exists():
        raise UserError(f"run {run_id}: no mirror-pair or regrouped partial sums, or no targets: build the store "
                        f"with --exhaustive-rows none and several shards (--shard-masks below 2^N)")
    for path in every:  # into the page cache, for both ways alike
        path.read_bytes()
    target = pq.read_table(target_path)
    rows = sum(pq.read_metadata(p).num_rows for p in files["part"])
    rows_regrouped = sum(pq.read_metadata(p).num_rows for p in files["regrouped"])
    print(f"run {run_id}: N = {hidden}, {len(files['part'])} mirror-pair files ({rows:,} rows, "
          f"{sum(p.stat().st_size for p in files['part']) / 1e6:.1f} MB), {len(files['regrouped'])} regrouped "
          f"files ({rows_regrouped:,} rows)", flush=True)
    ways = {
        "baseline": (lambda: baseline_targets(run_id, hidden, _BaselineMerged.read(files["part"])),
                     lambda: baseline_tables(run_id, hidden, _BaselineMerged.read(every), target)),
        "current": (lambda: merge.targets(run_id, hidden, merge.Merged.read(files["part"])),
                    lambda: merge.merged_tables(run_id, hidden, merge.Merged.read(every), target)),
    }
    seconds = {(way, which): [] for way in ways for which in ("targets", "summary")}
    out = {}
    peak = None
    for r in range(repeat):
        for way in ("current", "baseline"):
            for which, fn in zip(("targets", "summary"), ways[way]):
                s, out[way, which] = timed(fn)
                seconds[way, which].append(s)
            if peak is None:
                peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    for which in ("targets", "summary"):
        old, new = min(seconds["baseline", which]), min(seconds["current", which])
        print(f"  {which:8} baseline {old:6.2f} s   current {new:6.2f} s   ({old / new:.1f}x)   "
              f"all timings: baseline {', '.join(f'{s:.2f}' for s in seconds['baseline', which])}; "
              f"current {', '.join(f'{s:.2f}' for s in seconds['current', which])}")
    old = sum(min(seconds["baseline", w]) for w in ("targets", "summary"))
    new = sum(min(seconds["current", w]) for w in ("targets", "summary"))
    print(f"  both     baseline {old:6.2f} s   current {new:6.2f} s   ({old / new:.1f}x)")
    targets_equal = out["baseline", "targets"].equals(out["current", "targets"])
    close, identical, why = compare(out["baseline", "summary"], out["current", "summary"])
    print(f"  targets equal exactly: {targets_equal}; summary tables equal to rtol 1e-12: {close} "
          f"(bit-identical: {identical}); "
          + ", ".join(f"{n} {t.num_rows:,} rows" for n, t in out["current", "summary"].items()))
    for line in why[:10]:
        print(f"    differs: {line}")
    print(f"  peak RSS after the current way's first merges: {peak:,.0f} MB")
    return targets_equal and close


def main(argv: list[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        if args.repeat < 1:
            raise UserError("--repeat must be at least 1")
        if not (args.store / "exhaustive_sums").is_dir():
            raise UserError(f"{args.store} has no exhaustive_sums folder: build it with "
                            f"`python -m ingest.run --store {args.store} --exhaustive-rows none ...`")
        runs = run_files(args.store)
        if args.run is not None:
            if args.run not in runs:
                raise UserError(f"run {args.run} has no partial sums in {args.store}")
            runs = {args.run: runs[args.run]}
        if not runs:
            raise UserError(f"{args.store}/exhaustive_sums holds no partial sums")
        ok = all([bench(args.store, run_id, files, args.repeat) for run_id, files in sorted(runs.items())])
        return 0 if ok else 1
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
