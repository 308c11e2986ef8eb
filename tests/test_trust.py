"""The trust machinery, each part against the bug it exists to stop:

- a damaged but readable file is recomputed on the next run, not reused (the ledger checks hashes);
- every `ingest.verify` invariant reports its own violation, in a file whose manifest entry was
  updated to match (so only the invariant, not the hash, can catch it);
- files and runs an earlier run wrote and this one does not use disappear from the store, the
  manifest and the warehouse;
- a change of code version redoes every unit, and the code version covers exactly the ingest code.

Every check compares with what the test wrote or read itself (original bytes, hashes computed here),
never with a number the code under test reports about itself.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingest import ledger as ledger_module
from ingest.verify import verify
from tests.conftest import run_cli

HIDDEN = 4
TINY = ["--hidden", str(HIDDEN), "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--no-report"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest_of(store: Path) -> dict:
    return json.loads((store / "manifest.json").read_text())


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("trust") / "store"
    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", check=True)
    return store


@pytest.fixture
def store(two_runs, tmp_path) -> Path:
    copy = tmp_path / "store"
    shutil.copytree(two_runs, copy)
    return copy


def units_redone(store: Path) -> dict[str, int]:
    """Per stage of the last run: how many of its units were computed rather than reused."""
    manifest = manifest_of(store)
    totals = {}
    for key in manifest["units"]:
        totals[key.split("/")[0]] = totals.get(key.split("/")[0], 0) + 1
    return {r["stage"]: totals[r["stage"]] - r["reused"] for r in manifest["stages"] if r["stage"] in totals}


# --- a damaged but readable file ---------------------------------------------------------------------

def test_a_damaged_but_readable_file_is_recomputed_not_reused(store):
    target = store / "mask_samples" / "run-0.parquet"
    original = pq.read_table(target)
    original_hash = digest(target)
    damaged = original.set_column(original.schema.get_field_index("loss"), "loss",
                                  pa.compute.multiply(original["loss"], pa.scalar(2.0, pa.float32())))
    pq.write_table(damaged, target)  # a valid Parquet file, same rows and schema, other numbers
    assert pq.read_table(target).num_rows == original.num_rows and digest(target) != original_hash

    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", check=True)
    assert digest(target) == original_hash  # the run's output is deterministic: recomputed bit for bit
    assert pq.read_table(target).equals(original)
    assert units_redone(store)["samples"] == 1  # run 0's samples, and only they
    assert units_redone(store)["train"] == 0
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    stored = con.execute("select loss from mask_samples where run_id = 0 order by keep_prob, sample_id").fetchall()
    con.close()
    expected = sorted(zip(original["keep_prob"].to_pylist(), original["sample_id"].to_pylist(),
                          original["loss"].to_pylist()))
    assert [row[0] for row in stored] == pytest.approx([loss for _, _, loss in expected])
    assert verify(store) == []


# --- every verify invariant --------------------------------------------------------------------------

def rewrite(store: Path, rel: str, table: pa.Table) -> None:
    """Writes `table` as the store's file `rel` and records its true hash and row count in the
    manifest, so that only a content invariant can tell the file is wrong."""
    path = store / rel
    pq.write_table(table, path)
    manifest = manifest_of(store)
    manifest["files"][rel].update(sha256=digest(path), rows=table.num_rows, bytes=path.stat().st_size)
    (store / "manifest.json").write_text(json.dumps(manifest, indent=2))


def with_column(table: pa.Table, name: str, values: list) -> pa.Table:
    i = table.schema.get_field_index(name)
    return table.set_column(i, table.schema.field(i), pa.array(values, table.schema.field(i).type))


def flip_path_broken(how: str):
    def damage(store: Path) -> None:
        rel = "flip_paths/run-0.parquet"
        table = pq.read_table(store / rel).sort_by([("path_id", "ascending"), ("step", "ascending")])
        nodes = table["flipped_node"].to_pylist()
        masks = table["mask"].to_pylist()
        if how == "wrong node":  # step 2 of path 0 claims another node than the one its mask flipped
            nodes[2] = next(n for n in range(HIDDEN) if n != nodes[2])
            table = with_column(table, "flipped_node", nodes)
        elif how == "node twice":  # path 0 flips its first node again at step 2, its masks consistent
            nodes[2] = nodes[1]
            for k in range(1, HIDDEN + 1):
                masks[k] = masks[k - 1] ^ (1 << nodes[k])
            table = with_column(with_column(table, "flipped_node", nodes), "mask", masks)
        elif how == "row missing":
            table = table.slice(0, table.num_rows - 1)
        rewrite(store, rel, table)
    return damage


def exhaustive_duplicate(store: Path) -> None:
    rel = "mask_exhaustive/run-0-part-000.parquet"
    table = pq.read_table(store / rel)
    masks = table["mask"].to_pylist()
    masks[-1] = masks[0]  # one mask twice, another never
    rewrite(store, rel, with_column(table, "mask", masks))


VIOLATIONS = {
    "wrong node": (flip_path_broken("wrong node"), "flip_paths run 0: a step does not flip exactly its flipped_node"),
    "node twice": (flip_path_broken("node twice"), "flip_paths run 0: a path does not flip every node once"),
    "row missing": (flip_path_broken("row missing"), "flip_paths run 0: 24 rows is not a whole number of paths"),
    "exhaustive": (exhaustive_duplicate, f"mask_exhaustive run 0: masks are not 0 … 2^{HIDDEN}−1 each once"),
}


def invariant_lines(problems: list[str]) -> list[str]:
    return [p for p in problems if p.startswith(("flip_paths run", "mask_exhaustive run", "manifest config"))]


@pytest.mark.parametrize("case", VIOLATIONS)
def test_each_verify_invariant_catches_its_violation(store, case):
    damage, line = VIOLATIONS[case]
    assert invariant_lines(verify(store)) == []
    damage(store)
    problems = verify(store)
    assert invariant_lines(problems) == [line]
    assert not any("content hash differs" in p or "rows, manifest says" in p for p in problems)  # hashes match


def test_verify_refuses_a_node_count_it_cannot_check(store):
    manifest = manifest_of(store)
    manifest["config"]["hidden"] = 70
    (store / "manifest.json").write_text(json.dumps(manifest))
    assert "manifest config: hidden is '70', not a node count" in verify(store)


# --- stale files and runs ----------------------------------------------------------------------------

def test_stale_files_and_runs_leave_the_store_and_the_warehouse(store):
    before = manifest_of(store)
    run1 = sorted(rel for rel in before["files"] if Path(rel).name.startswith("run-1"))
    assert len(run1) >= 15 and all((store / rel).is_file() for rel in run1)

    run_cli("--store", str(store), *TINY, "--train-seed", "0", check=True)  # run 1 is no longer wanted
    assert [rel for rel in run1 if (store / rel).exists()] == []
    assert sorted(p.relative_to(store).as_posix() for p in store.glob("*/*.parquet")) == sorted(manifest_of(store)["files"])
    assert not any("run-1" in rel for rel in manifest_of(store)["files"])
    assert not any(key.endswith("/1") or "/1/" in key for key in manifest_of(store)["units"])
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    tables = [name for (name,) in con.execute(
        "select distinct table_name from information_schema.columns where column_name = 'run_id'").fetchall()]
    assert len(tables) >= 15
    seen = {name: sorted(r for (r,) in con.execute(f'select distinct run_id from "{name}"').fetchall()) for name in tables}
    con.close()
    assert {name: ids for name, ids in seen.items() if ids not in ([0], [])} == {}
    assert verify(store) == []


# --- the code version --------------------------------------------------------------------------------

def test_another_code_version_redoes_every_unit(store):
    hashes = {rel: meta["sha256"] for rel, meta in manifest_of(store)["files"].items()}
    manifest = manifest_of(store)
    manifest["code_version"] = "0" * 16  # what an earlier version of the ingest code wrote
    (store / "manifest.json").write_text(json.dumps(manifest))
    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", check=True)
    redone = units_redone(store)
    totals = {}
    for key in manifest_of(store)["units"]:
        totals[key.split("/")[0]] = totals.get(key.split("/")[0], 0) + 1
    assert redone == totals and set(redone) >= {"train", "samples", "exhaustive", "flip_paths"}
    assert {rel: digest(store / rel) for rel in hashes} == hashes  # the same code makes the same files


def test_the_code_version_covers_the_ingest_code_and_nothing_else(tmp_path, monkeypatch):
    source = Path(ledger_module.__file__).parent
    copy = tmp_path / "ingest"
    copy.mkdir()
    for path in [*source.glob("*.py"), *source.glob("*.c")]:
        shutil.copy(path, copy / path.name)
    monkeypatch.setattr(ledger_module, "INGEST_DIR", copy)
    base = ledger_module.code_version()
    assert base == ledger_module.code_version() and len(base) == 16

    def changed(name: str, text: str) -> str:
        path = copy / name
        old = path.read_bytes() if path.exists() else None
        path.write_text((old or b"").decode() + text)
        version = ledger_module.code_version()
        if old is None:
            path.unlink()
        else:
            path.write_bytes(old)
        assert ledger_module.code_version() == base
        return version

    assert changed("paths.py", "\n# another comment\n") != base  # any byte of Python code
    assert changed("knock.c", "\n/* another comment */\n") != base  # and of the C kernel
    assert changed("new_module.py", "x = 1\n") != base  # a new module
    assert changed("notes.txt", "not code\n") == base  # not code: no effect
    renamed = copy / "paths.py"
    renamed.rename(copy / "paths2.py")  # the same bytes under another name are another program
    assert ledger_module.code_version() != base



def test_the_page_fingerprint_covers_the_report_code_the_warehouse_and_the_place(tmp_path, monkeypatch):
    from ingest import outputs

    source = Path(outputs.REPORTS_DIR)
    copy = tmp_path / "reports"
    shutil.copytree(source, copy, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(outputs, "REPORTS_DIR", copy)
    page = tmp_path / "page.html"
    base = outputs.report_fingerprint("w" * 16, page)
    assert base == outputs.report_fingerprint("w" * 16, page) and len(base) == 16

    def changed(rel: str, text: str) -> str:
        path = copy / rel
        old = path.read_bytes() if path.exists() else None
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes((old or b"") + text.encode())
        fp = outputs.report_fingerprint("w" * 16, page)
        if old is None:
            path.unlink()
        else:
            path.write_bytes(old)
        assert outputs.report_fingerprint("w" * 16, page) == base
        return fp

    for rel in ("fmt.py", "sections/f2.py", "heatmap.js", "page.css", "templates/page.html.j2", "new.html"):
        assert changed(rel, "\n") != base, rel  # any byte of the page's code, templates and assets
    assert changed("notes.txt", "not code\n") == base
    assert changed("__pycache__/cached.py", "x = 1\n") == base  # a cache is not the code
    assert outputs.report_fingerprint("v" * 16, page) != base  # another warehouse
    assert outputs.report_fingerprint("w" * 16, tmp_path / "other.html") != base  # another place
    (copy / "fmt.py").rename(copy / "fmt2.py")  # the same bytes under another name
    assert outputs.report_fingerprint("w" * 16, page) != base


def test_a_built_output_is_current_only_while_it_is_the_file_that_was_built(tmp_path):
    from ingest import outputs

    page = tmp_path / "page.html"
    page.write_text("the page")
    entry = outputs.record(page, "f" * 16)
    assert entry == {"path": str(page), "fingerprint": "f" * 16, "bytes": 8,
                     "sha256": hashlib.sha256(b"the page").hexdigest()}
    assert outputs.is_current(entry, page, "f" * 16)
    assert not outputs.is_current(None, page, "f" * 16)
    assert not outputs.is_current(entry, page, "e" * 16)  # built from something else
    assert not outputs.is_current(entry, tmp_path / "other.html", "f" * 16)  # another place
    page.write_text("the paGe")  # same size, other bytes
    assert not outputs.is_current(entry, page, "f" * 16)
    page.write_text("the page, longer")
    assert not outputs.is_current(entry, page, "f" * 16)
    page.unlink()
    assert not outputs.is_current(entry, page, "f" * 16)

# --- a reader's refusals say exactly what is wrong and which command fixes it --------------------------

def test_the_warehouse_check_names_the_fault_and_the_fix(store):
    from ingest.contract import check_warehouse
    from ingest.errors import UserError

    def refusal() -> str:
        with pytest.raises(UserError) as caught:
            check_warehouse(store)
        return str(caught.value)

    fix = f"`python -m ingest.run --store {store}`"
    warehouse = store / "warehouse.duckdb"
    # a copied store's warehouse was built for the original's place
    assert refusal() == (f"{warehouse} was built for other files, another place or other SQL than the store now "
                         f"has; rebuild it with {fix}")
    warehouse.write_bytes(b"not a database" * 400)
    assert refusal().startswith(f"cannot open {warehouse} (") and refusal().endswith(f"); rebuild it with {fix}")
    warehouse.unlink()
    assert refusal() == f"{warehouse} is missing; rebuild it with {fix}"
    manifest = manifest_of(store)
    del manifest["outputs"]["warehouse"]
    (store / "manifest.json").write_text(json.dumps(manifest))
    assert refusal() == f"{store} has no warehouse recorded in its manifest; run {fix}"
    # a manifest without its store id (load_manifest, which every reader goes through)
    from ingest.contract import load_manifest
    manifest = manifest_of(store)
    del manifest["store_id"]
    (store / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(UserError) as caught:
        load_manifest(store)
    assert str(caught.value) == f"{store / 'manifest.json'} has no store id; rebuild it with {fix}"


# --- a changed config field ----------------------------------------------------------------------------

def test_a_changed_field_reruns_exactly_the_units_that_depend_on_it(store):
    """--keep-probs changes: every unit of a stage that reads it (directly or through a stage it uses)
    is redone and its files hold the new probabilities; every other unit is reused, its files
    byte-identical."""
    from ingest import stages

    before = {rel: digest(store / rel) for rel in manifest_of(store)["files"]}
    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", "--keep-probs", "0.2,0.8", check=True)
    redone = units_redone(store)
    dependent = {name for name, s in stages.STAGES.items() if s.depends_on("keep_probs")}
    assert {"samples", "summary"} <= dependent and "flip_paths" not in dependent
    assert {name for name, n in redone.items() if n} == dependent & set(redone)
    assert all(redone[name] == sum(1 for k in manifest_of(store)["units"] if k.split("/")[0] == name)
               for name in dependent & set(redone))
    for run_id in (0, 1):
        drawn = pq.read_table(store / "mask_samples" / f"run-{run_id}.parquet")
        assert sorted(set(drawn["keep_prob"].to_pylist())) == [0.2, 0.8]
    unchanged = [rel for rel in before if rel.split("/")[0] in ("runs", "weights", "flip_paths", "mask_exhaustive",
                                                               "mask_landmarks", "input_grid")]
    assert len(unchanged) >= 12 and all(digest(store / rel) == before[rel] for rel in unchanged)


def test_a_changed_training_field_reruns_every_unit_after_training(store):
    """--epochs changes the network, which no later stage declares: every unit after training is
    redone all the same (its fingerprint holds the network's training fingerprint), and the new
    samples' losses are the new network's (recomputed here from its stored weights by the kernel)."""
    from ingest import cli, stages

    run_cli("--store", str(store), *TINY, "--train-seeds", "0,1", "--epochs", "2", check=True)
    redone = units_redone(store)
    units = {}
    for key in manifest_of(store)["units"]:
        units[key.split("/")[0]] = units.get(key.split("/")[0], 0) + 1
    assert {"train", "samples", "exhaustive", "flip_paths", "grid", "summary"} <= set(redone)
    assert all(redone[name] == units[name] for name in redone), redone
    config, _ = cli.parse(["--store", str(store), *TINY, "--train-seeds", "0,1", "--epochs", "2"])
    trained = stages.load_trained(config, store, 0)
    drawn = pq.read_table(store / "mask_samples" / "run-0.parquet")
    loss, _ = trained.kernel.evaluate(np.asarray(drawn["mask"].to_pylist(), dtype=np.int64))
    assert np.array_equal(loss, np.asarray(drawn["loss"].to_pylist(), dtype=np.float32))
