"""--exhaustive-rows none: the exact marts from per-unit partial sums equal the per-mask path's.

One network at N = 12 in 32 mirror-pair and 64 regrouped units (--shard-masks 64), built both ways;
every warehouse table is compared column by column, a few statistics are recomputed in numpy from
brute-force per-mask losses of the independent float64 oracle, the reductions in C are checked
against their numpy fallback, and a run killed between units resumes to the same files.
"""
from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest

from tests import oracle
from tests.conftest import ROOT, read_table, run_cli

N = 12
ARGS = ["--train-seeds", "0", "--hidden", str(N), "--train-points", "500", "--epochs", "2", "--test-points", "200",
        "--samples-per-prob", "50", "--flip-paths", "20", "--grid-size", "11", "--shard-masks", "64", "--no-report"]
# Built from the per-mask rows only: empty without them (store/README.md). Each is checked to be empty.
PER_MASK_ONLY = {"balance_groups"}
# Different on purpose: the configuration (its exhaustive_rows) and the warehouse's identity.
NOT_COMPARED = {"runs": {"config"}, "warehouse_info": {"store_id", "built_from", "config"},
                # its balance columns roll up balance_groups
                "replication_summary": {"balance_corr_within_size", "balance_corr_within_size_and_cutters",
                                        "balance_n_sizes", "balance_n_sizes_positive"}}


@pytest.fixture(scope="module")
def stores(tmp_path_factory) -> dict[str, Path]:
    out = {}
    for rows in ("all", "none"):
        out[rows] = tmp_path_factory.mktemp(rows)
        run_cli("--store", str(out[rows]), *ARGS, "--exhaustive-rows", rows, check=True)
    return out


def tables(con) -> list[str]:
    return [r[0] for r in con.execute("select table_name from duckdb_tables() where not internal order by 1").fetchall()]


def test_every_table_equals_the_per_mask_path(stores):
    a = duckdb.connect(str(stores["all"] / "warehouse.duckdb"), read_only=True)
    b = duckdb.connect(str(stores["none"] / "warehouse.duckdb"), read_only=True)
    names = tables(a)
    assert names == tables(b)
    assert b.execute("select count(*) from mask_exhaustive").fetchone()[0] == 0
    assert a.execute("select count(*) from mask_exhaustive").fetchone()[0] == 2 ** N
    compared = 0
    for name in names:
        left, right = a.execute(f"select * from {name}").pl(), b.execute(f"select * from {name}").pl()
        if name in PER_MASK_ONLY:
            assert len(left) > 0 and len(right) == 0, name
            continue
        assert left.schema == right.schema, name  # the same columns, of the same types
        assert len(left) == len(right), f"{name}: {len(left)} rows vs {len(right)}"
        for column in left.columns:
            if column in NOT_COMPARED.get(name, ()):
                continue
            x, y = left[column], right[column]
            if x.dtype == pl.List(pl.Float64) or x.dtype == pl.List(pl.Float32):  # e.g. run_summary's lists by p
                assert x.list.len().to_list() == y.list.len().to_list(), f"{name}.{column}"
                x, y = x.explode(), y.explode()
            if x.dtype.is_float():
                ok = np.isclose(x.to_numpy(), y.to_numpy(), rtol=2e-6, atol=1e-9, equal_nan=True)
                assert ok.all(), f"{name}.{column}: {x.to_numpy()[~ok][:3]} vs {y.to_numpy()[~ok][:3]}"
            else:
                assert x.to_list() == y.to_list(), f"{name}.{column}"
        compared += len(left) > 0
    # the exact marts all have rows, so they were compared
    for mart in ("exhaustive_by_size", "exhaustive_node_sums", "exhaustive_histogram", "best_subnetworks",
                 "complement_pairs", "exact_shape", "flip_effects", "flip_path_exact", "mobius_terms",
                 "shapley_interactions", "spectrum_by_order", "shapley_values", "banzhaf_values"):
        assert a.execute(f"select count(*) from {mart}").fetchone()[0] > 0, mart
    assert compared > 20


def brute_force(store: Path) -> tuple[np.ndarray, np.ndarray]:
    """Every mask's loss and gradients from the independent float64 oracle (not the kernel)."""
    w = oracle.weights_from_rows(read_table(store, "weights"))
    test = read_table(store, "points").filter(pl.col("split") == "test")
    x = test.select("x0", "x1").to_numpy()
    y = test["label"].to_numpy().astype(np.int64)
    return oracle.loss_and_grad(w, x, y, oracle.bits(range(2 ** N), N))


def test_statistics_against_brute_force(stores):
    loss, grad = brute_force(stores["none"])
    ll = np.log(loss)
    masks = np.arange(2 ** N)
    size = np.array([bin(m).count("1") for m in masks])
    by_size = read_table(stores["none"], "summary_by_size").sort("n_on")
    flips = read_table(stores["none"], "summary_flips").sort("node")
    nodes = read_table(stores["none"], "summary_by_node")
    for k in range(N + 1):
        row = by_size.row(k, named=True)
        here = size == k
        assert row["n"] == here.sum()
        # the complement pairs: Σ log loss(m) · log loss(2^N − 1 − m) over the masks of size k
        assert row["sum_log_loss_x_complement"] == pytest.approx((ll * ll[::-1])[here].sum(), rel=1e-5)
        assert row["median_loss"] == pytest.approx(np.median(loss[here]), rel=1e-5)
        assert row["c2_loss"] == pytest.approx(((loss[here] - loss.mean()) ** 2).sum(), rel=1e-4, abs=1e-9)
        assert row["sum_grad2"] == pytest.approx((grad[here] ** 2).sum(), rel=1e-4)
        if k not in (0, N):  # one mask: no tie to break; else the best's loss must be the least
            assert row["best_loss"] == pytest.approx(loss[here].min(), rel=1e-5)
            assert row["worst_loss"] == pytest.approx(loss[here].max(), rel=1e-5)
    for node in range(N):
        on = (masks >> node) & 1 == 1
        effect = loss[masks[on]] - loss[masks[on] - (1 << node)]
        f = flips.row(node, named=True)
        assert f["n_pairs"] == on.sum()
        # a sum of differences: float32 rounding of each loss (~1e-7 of it) adds up, not shrinks
        slack = 1e-6 * on.sum() * loss.mean()
        assert f["sum_effect"] == pytest.approx(effect.sum(), abs=slack)
        assert f["sum_effect_x_grad_on"] == pytest.approx((effect * grad[masks[on], node]).sum(),
                                                          abs=slack * np.abs(grad).max())
        got = nodes.filter((pl.col("node") == node) & (pl.col("node_on") == 1))["sum_grad"].sum()
        assert got == pytest.approx(grad[on, node].sum(), rel=1e-5, abs=1e-7)


def test_c_reductions_equal_numpy():
    from ingest import aggregate
    rng = np.random.default_rng(3)
    hidden, size = 9, 64
    starts = [64, 512 - 128]
    loss = rng.uniform(0.1, 2, 128).astype(np.float32)
    grad = rng.normal(0, 0.1, (128, hidden)).astype(np.float32)
    if aggregate.library() is None:
        pytest.skip("reduce.c cannot be compiled here: only the numpy path runs")
    assert_c_equals_numpy(lambda: aggregate.reduce_pair(hidden, starts, size, loss, grad))


def assert_c_equals_numpy(reduce) -> int:
    """reduce() (a Partial) with reduce.c and with its numpy fallback: the same rows, the same values
    to rtol 1e-12. Returns how many rows."""
    from ingest import aggregate
    native = reduce().table(0, 0)
    saved = aggregate._loaded["dll"]
    aggregate._loaded["dll"] = None
    try:
        plain = reduce().table(0, 0)
    finally:
        aggregate._loaded["dll"] = saved
    keys = ["statistic", "n_on", "node", "node_on", "bin"]
    a, b = pl.from_arrow(native).sort(keys), pl.from_arrow(plain).sort(keys)
    assert a.select(keys).equals(b.select(keys))
    assert np.allclose(a["value"].to_numpy(), b["value"].to_numpy(), rtol=1e-12, atol=1e-12)
    return len(a)


def test_c_regrouped_reductions_equal_numpy():
    """A regrouped unit's flip sums of the high nodes and its target-bin rows, C against numpy."""
    import pyarrow as pa

    from ingest import aggregate
    if aggregate.library() is None:
        pytest.skip("reduce.c cannot be compiled here: only the numpy path runs")
    rng = np.random.default_rng(5)
    g = aggregate.Layout(10, 6)
    masks = aggregate.second_masks(g, 3)
    loss = rng.uniform(0.1, 2, len(masks)).astype(np.float32)
    grad = rng.normal(0, 0.1, (len(masks), g.hidden - g.shard_bits)).astype(np.float32)
    k = g.hidden + 1
    bins = np.floor(loss.astype(np.float64) / 0.002).astype(np.int64)
    targets = pa.table({"n_on": np.arange(k, dtype=np.int32), "bin_lo": np.full(k, bins[0]), "bin_hi": np.full(k, bins[1]),
                        "bin_threshold": np.full(k, bins[2]), "threshold": np.full(k, 1.0)})
    assert assert_c_equals_numpy(lambda: aggregate.reduce_regrouped(g, masks, loss, grad, targets)) > 50


def test_all_rows_refused_at_26_before_anything(tmp_path):
    store = tmp_path / "never"
    proc = run_cli("--store", str(store), "--hidden", "26", "--exhaustive-rows", "all")
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in proc.stderr
    assert "67,108,864" in lines[0] and "--exhaustive-rows none" in lines[0] and "--force-exhaustive" in lines[0]
    assert not store.exists()  # refused at the flag check: no folder claimed, nothing trained


def manifest_units(store: Path) -> int:
    try:
        return len(json.loads((store / "manifest.json").read_text()).get("units", {}))
    except (OSError, ValueError):
        return 0


def file_hashes(store: Path) -> dict[str, str]:
    return {rel: meta["sha256"] for rel, meta in json.loads((store / "manifest.json").read_text())["files"].items()}


def test_sigkill_between_units_resumes_to_the_same_store(stores, tmp_path):
    store = tmp_path / "killed"
    clean = stores["none"]
    total = manifest_units(clean)
    # killed among the mirror-pair units, then among the regrouped ones
    for units in (8, 60):
        proc = subprocess.Popen([sys.executable, "-m", "ingest.run", "--store", str(store), *ARGS,
                                 "--exhaustive-rows", "none"], cwd=ROOT, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        deadline = time.time() + 120
        while manifest_units(store) < units and proc.poll() is None and time.time() < deadline:
            time.sleep(0.005)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        assert manifest_units(store) < total
    done = run_cli("--store", str(store), *ARGS, "--exhaustive-rows", "none", check=True)
    assert "reused" in done.stdout + done.stderr
    assert file_hashes(store) == file_hashes(clean)


def test_regrouped_units_read_the_spill_or_evaluate_to_the_same_files(stores, tmp_path, monkeypatch):
    """The regrouped units read the mirror-pair units' spill (ingest/aggregate.py) instead of
    evaluating their masks again: with the spill and without it the store's files are identical,
    and the spill is gone when the run ends."""
    from ingest import aggregate
    clean = stores["none"]
    assert not (clean / aggregate.SCRATCH).exists()
    found = []
    read = aggregate.read_scratch

    def counted(*args):
        out = read(*args)
        found.append(out is not None)
        return out
    monkeypatch.setattr(aggregate, "read_scratch", counted)
    run_cli("--store", str(tmp_path / "spilled"), *ARGS, "--exhaustive-rows", "none", check=True)
    assert len(found) == 64 and all(found)  # every regrouped unit read the spill
    monkeypatch.setattr(aggregate, "write_scratch", lambda *args: False)  # no room on the disk
    found.clear()
    run_cli("--store", str(tmp_path / "evaluated"), *ARGS, "--exhaustive-rows", "none", check=True)
    assert len(found) == 64 and not any(found)  # every regrouped unit evaluated its masks
    assert file_hashes(tmp_path / "spilled") == file_hashes(tmp_path / "evaluated") == file_hashes(clean)


def test_the_spill_is_the_kernels_numbers_and_only_its_networks(tmp_path):
    """A regrouped unit's slice of the spill equals the kernel's own evaluation of its masks, bit for
    bit; another network's spill, a file cut short, or a missing shard is never read."""
    from ingest import aggregate, cli, stages
    config, _ = cli.parse(["--store", str(tmp_path / "unused"), *ARGS, "--exhaustive-rows", "none"])
    nets = stages.fit_all(config, {0: 0, 1: 1})
    kernel, other = nets[0].trained.kernel, nets[1].trained.kernel
    g = aggregate.layout(config)
    identity = aggregate.scratch_identity(kernel, g)
    assert identity != aggregate.scratch_identity(other, g)
    for shard in range(g.shards):
        loss, grad = kernel.evaluate_range(shard * g.size, (shard + 1) * g.size)
        assert aggregate.write_scratch(tmp_path, 0, identity, g, shard, loss, grad)
    for j in (0, 5, g.shards - 1):
        loss, grad = aggregate.read_scratch(tmp_path, 0, identity, g, j)
        want_loss, want_grad = kernel.evaluate_last(aggregate.second_masks(g, j), g.shard_bits)
        assert loss.tobytes() == want_loss.tobytes() and grad.tobytes() == want_grad.tobytes()
    assert aggregate.read_scratch(tmp_path, 0, aggregate.scratch_identity(other, g), g, 0) is None
    path = aggregate.scratch_path(tmp_path, 0, identity, 3)
    path.write_bytes(path.read_bytes()[:-4])
    assert aggregate.read_scratch(tmp_path, 0, identity, g, 0) is None
    path.unlink()
    assert aggregate.read_scratch(tmp_path, 0, identity, g, 0) is None


def test_no_spill_where_it_would_leave_the_disk_nearly_full(tmp_path, monkeypatch):
    """A shard's spill is not written when the disk would keep less than SCRATCH_MIN_FREE free: the
    write says so (False) and leaves no file, not even a temporary one."""
    import shutil

    from ingest import aggregate
    g = aggregate.Layout(6, 3)
    loss, grad = np.ones(g.size, np.float32), np.zeros((g.size, 6), np.float32)
    need = (6 - 3 + 1) * g.size * 4
    usage = shutil.disk_usage(tmp_path)
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=need + aggregate.SCRATCH_MIN_FREE - 1))
    assert not aggregate.write_scratch(tmp_path, 0, "x", g, 0, loss, grad)
    assert not [p for p in (tmp_path / aggregate.SCRATCH).rglob("*") if p.is_file()]
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage._replace(free=need + aggregate.SCRATCH_MIN_FREE))
    assert aggregate.write_scratch(tmp_path, 0, "x", g, 0, loss, grad)
    assert aggregate.scratch_path(tmp_path, 0, "x", 0).stat().st_size == need


def test_auto_keeps_rows_up_to_22_only():
    from ingest.config import Config
    assert Config().exhaustive_rows == "auto" and Config().keeps_rows  # the default run (N = 20) keeps its rows
    assert Config(hidden=22).keeps_rows and not Config(hidden=23).keeps_rows
    assert Config(hidden=23, exhaustive_rows="all").keeps_rows and not Config(hidden=6, exhaustive_rows="none").keeps_rows


# ---- the merge itself (ingest/merge.py) against brute force on synthetic units ----

def synthetic_units(seed: int, units: int = 7, hidden: int = 7):
    """Units of made-up masks (size, loss, gradient-like value), the losses rounded so that units
    tie, and each unit's partial sums made here by hand as aggregate.py lays them out: histograms
    whose bins overlap between units and grow at the edges, a flip sum written twice in a unit
    (once per shard), moments about the unit's own mean, the unit's best and worst masks."""
    from ingest.aggregate import Partial
    rng = np.random.default_rng(seed)
    k = hidden + 1
    tables, masks_of = [], []
    for part in range(units):
        count = int(rng.integers(20, 60))
        masks = rng.choice(1 << hidden, count, replace=False).astype(np.int64)
        size = np.array([bin(m).count("1") for m in masks])
        loss = np.round(rng.uniform(0.1, 0.3 + 0.02 * part, count), 2)  # ties within and between units
        out = Partial()
        present = np.flatnonzero(np.bincount(size, minlength=k))
        out.add("n", np.bincount(size, minlength=k)[present], n_on=present)
        out.add("sum_loss", np.bincount(size, weights=loss, minlength=k)[present], n_on=present)
        ref = loss.mean()
        out.add("ref:loss", ref)
        for p in (1, 2, 3, 4):
            out.add(f"s{p}:loss", np.bincount(size, weights=(loss - ref) ** p, minlength=k)[present], n_on=present)
        bins = np.floor(loss / 0.002).astype(np.int64)
        keys = sorted(set(zip(size.tolist(), bins.tolist())))
        for name, weights in (("bin_n:loss", np.ones(count)), ("bin_sum:loss", loss)):
            out.add(name, [weights[(size == s) & (bins == b)].sum() for s, b in keys],
                    n_on=[s for s, _ in keys], bin_=[b for _, b in keys])
        for shard in range(2):
            for node in range(3):
                out.add("sum_effect", rng.normal() * 10.0 ** rng.integers(-3, 4), node=node)
        for which, pick in (("best", np.lexsort((masks, loss, size))), ("worst", np.lexsort((-masks, -loss, size)))):
            first = pick[np.r_[True, size[pick][1:] != size[pick][:-1]]]
            out.add(f"{which}_loss", loss[first], n_on=size[first])
            out.add(f"{which}_mask", masks[first], n_on=size[first])
        tables.append(out.table(0, part))
        masks_of.append((masks, size, loss))
    return tables, masks_of


def running_sums(tables) -> dict[tuple, float]:
    """Brute force: a dict of every summed row's key, each value 0.0 plus its rows in file order,
    then row order, one addition at a time."""
    import re

    from ingest.merge import PER_UNIT
    out: dict[tuple, float] = {}
    for table in tables:
        for row in table.to_pylist():
            if re.match(PER_UNIT, row["statistic"]) and row["statistic"] != "n":
                continue
            key = (row["statistic"], row["n_on"], row["node"], row["node_on"], row["bin"])
            out[key] = out.get(key, 0.0) + row["value"]
    return out


def merged_sums(merged, names) -> dict[tuple, float]:
    out = {}
    for name in names:
        rows = merged.summed(name)
        for key in zip(rows.n_on.tolist(), rows.node.tolist(), rows.node_on.tolist(), rows.bin.tolist(),
                       rows.value.tolist()):
            out[(name, *key[:4])] = key[4]
    return out


def test_merge_equals_brute_force_sums_in_any_file_order(tmp_path):
    import pyarrow.parquet as pq

    from ingest import merge
    tables, _ = synthetic_units(5)
    names = {key[0] for key in running_sums(tables)}
    expected = running_sums(tables)
    assert len(expected) > 100 and "sum_effect" in names
    # one file at a time; and every file prepared before any is added (reading threads far ahead)
    one = merge.Merged()
    for table in tables:
        one.add(table)
    ahead = merge.Merged()
    for prepared in [ahead._prepare(t) for t in tables]:
        ahead._add(prepared)
    paths = []
    for i, table in enumerate(tables):
        paths.append(tmp_path / f"unit-{i}.parquet")
        pq.write_table(table, paths[-1])
    for merged in (one, ahead, merge.Merged.read(paths, threads=1), merge.Merged.read(paths, threads=2)):
        got = merged_sums(merged, names)
        assert got.keys() == expected.keys()
        assert all(got[key] == expected[key] for key in expected)  # the same additions in the same order
    # another file order: the same sums up to rounding
    order = np.random.default_rng(1).permutation(len(tables))
    shuffled = merge.Merged.read([paths[i] for i in order], threads=2)
    got = merged_sums(shuffled, names)
    assert got.keys() == expected.keys()
    assert np.allclose([got[key] for key in expected], [expected[key] for key in expected], rtol=1e-12, atol=0)
    # the kept rows: every unit's, in file order
    rows = one.kept("s2:loss")
    want = [(r["part"], r["n_on"], r["value"]) for t in tables for r in t.to_pylist() if r["statistic"] == "s2:loss"]
    assert list(zip(rows.part.tolist(), rows.n_on.tolist(), rows.value.tolist())) == want


def test_merged_moments_and_extremes_against_every_mask():
    from ingest import merge
    hidden = 7
    tables, units = synthetic_units(9, hidden=hidden)
    merged = merge.Merged()
    for table in tables[::-1]:
        merged.add(table)
    masks = np.concatenate([u[0] for u in units])
    size = np.concatenate([u[1] for u in units])
    loss = np.concatenate([u[2] for u in units])
    k = hidden + 1
    centre = loss.mean()
    moments = merge._centred(merged, "loss", centre, k, 1)
    for p in (1, 2, 3, 4):
        want = np.bincount(size, weights=(loss - centre) ** p, minlength=k)
        assert np.allclose(moments[p - 1], want, rtol=1e-10, atol=1e-15), p
    for which in ("best", "worst"):
        got_loss, got_mask = merge._extreme(merged, which, k)
        for s in range(k):
            here = np.flatnonzero(size == s)
            if not len(here):
                assert np.isnan(got_loss[s])
                continue
            # lowest loss then lowest mask; highest loss then highest mask
            pick = min(here, key=lambda i: (loss[i], masks[i])) if which == "best" else \
                max(here, key=lambda i: (loss[i], masks[i]))
            assert (got_loss[s], got_mask[s]) == (loss[pick], masks[pick]), (which, s)
    n_on, b, count, total = merge._bins_of(merged, "loss")
    bins = np.floor(loss / 0.002).astype(np.int64)
    keys = sorted(set(zip(size.tolist(), bins.tolist())))
    assert list(zip(n_on.tolist(), b.tolist())) == keys
    assert count.tolist() == [int(((size == s) & (bins == x)).sum()) for s, x in keys]
    assert np.allclose(total, [loss[(size == s) & (bins == x)].sum() for s, x in keys], rtol=1e-12)
