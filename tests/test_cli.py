"""The command line end to end: a small run, the `duckdb` command on its warehouse, and bad input."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SMALL_ARGS, run_cli

VIEWS = ("sample_node_grads", "loss_stats", "grad_stats", "node_split_stats", "sanity_check",
         "single_knockouts", "flip_path_cov", "flip_path_decay")


def duckdb_cli() -> str:
    # The command the project's own dependencies install (duckdb-cli), beside this interpreter.
    path = Path(sys.executable).parent / "duckdb"
    assert path.exists(), "the duckdb command is not installed next to the interpreter"
    return str(path)


def test_duckdb_command_answers_every_view_from_any_directory(small_store, tmp_path):
    db = (small_store / "warehouse.duckdb").resolve()
    for name in VIEWS + ("mask_exhaustive", "runs"):
        proc = subprocess.run([duckdb_cli(), "-readonly", "-csv", str(db), "-c",
                               f"select count(*) from {name}"],
                              cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        assert int(proc.stdout.strip().splitlines()[-1]) > 0, name


def test_manifest_and_summary(small_store):
    manifest = json.loads((small_store / "manifest.json").read_text())
    assert manifest["config"]["hidden"] == 6
    assert manifest["row_counts"]["mask_exhaustive"] == 2 * 64
    assert manifest["row_counts"]["flip_paths"] == 2 * 50 * 7
    assert [r["train_seed"] for r in manifest["runs"]] == [0, 1]
    assert manifest["packages"]["torch"].startswith("2.13.0")
    assert {s["stage"] for s in manifest["stages"]} >= {"train", "exhaustive", "warehouse"}


def test_help_documents_every_config_field():
    from ingest.config import field_names
    proc = run_cli("--help")
    assert proc.returncode == 0
    for name in field_names():
        assert "--" + name.replace("_", "-") in proc.stdout
    for flag in ("--config", "--store", "--no-exhaustive", "--report", "--no-report"):
        assert flag in proc.stdout


def test_toml_then_flags_override_defaults(tmp_path):
    from ingest.cli import parse
    toml = tmp_path / "c.toml"
    toml.write_text('hidden = 8\nepochs = 2\nkeep_probs = [0.1, 0.9]\nlabel_rule = "intent"\n')
    config, _ = parse(["--config", str(toml), "--epochs", "5"])
    assert (config.hidden, config.epochs, config.keep_probs, config.label_rule) == (8, 5, (0.1, 0.9), "intent")
    assert config.train_seeds == (0, 1, 2, 3, 4)  # the default five networks
    assert parse(["--train-seed", "7"])[0].train_seeds == (7,)
    assert parse(["--train-seeds", "3,1"])[0].train_seeds == (3, 1)
    assert config.train_points == 10_000  # untouched default


BAD = [
    (["--hidden", "0"], "'hidden' must be positive"),
    (["--hidden", "abc"], "must be an integer"),
    (["--hidden", "63"], "at most 62"),
    (["--hidden", "30"], "--no-exhaustive"),
    (["--keep-probs", "0.5,1.0"], "strictly between 0 and 1"),
    (["--label-rule", "square"], "label_rule"),
    (["--grid-extent", "0"], "grid_extent"),
    (["--bogus", "1"], "unrecognized arguments"),
    (["--config", "/nonexistent/c.toml"], "config file not found"),
]


@pytest.mark.parametrize("args,message", BAD)
def test_bad_input_is_one_line_exit_2(args, message, tmp_path):
    store = tmp_path / "store"
    proc = run_cli("--store", str(store), *args)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not store.exists()  # nothing was created or touched


def test_bad_toml_and_unknown_key(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("hidden = [\n")
    proc = run_cli("--config", str(bad), "--store", str(tmp_path / "s"))
    assert proc.returncode == 2 and "invalid TOML" in proc.stderr
    unknown = tmp_path / "unknown.toml"
    unknown.write_text("hiden = 4\n")
    proc = run_cli("--config", str(unknown), "--store", str(tmp_path / "s"))
    assert proc.returncode == 2 and "unknown config key 'hiden'" in proc.stderr


def test_store_that_is_a_file_is_refused(tmp_path):
    target = tmp_path / "afile"
    target.write_text("keep me")
    proc = run_cli("--store", str(target), *SMALL_ARGS, "--no-report")
    assert proc.returncode == 2 and "is a file" in proc.stderr
    assert target.read_text() == "keep me"


def test_no_exhaustive_keeps_every_view_answering(shared_store):
    store = shared_store(*SMALL_ARGS, "--no-exhaustive")  # also read by test_report_beyond
    import duckdb
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    assert con.execute("select count(*) from mask_exhaustive").fetchone()[0] == 0
    assert con.execute("select count(*) from single_knockouts where loss_only_off is not null").fetchone()[0] == 12
    present = {r[0] for r in con.execute("select table_name from information_schema.tables").fetchall()}
    from ingest.catalog import sql_objects
    objects = [obj.name for obj in sql_objects() if obj.path.read_text().count("create or replace macro") == 0]
    assert set(objects) <= present
    for name in objects:  # every view and mart answers, even with no exhaustive table
        con.execute(f"select * from {name}").fetchall()


def test_unwritable_store_is_refused():
    proc = run_cli("--store", "/proc/knockout-store", *SMALL_ARGS, "--no-report")
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: cannot write to store /proc/knockout-store")
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("text, line", [
    ("one line", "one line"), ("two\nlines", "two lines"), ("carriage\rreturn", "carriage return"),
    ("  spaced\n\tout  ", "spaced out"), ("kept  as is", "kept  as is"),
])
def test_an_error_message_is_printed_on_one_line(text, line):
    """A message with a line break (from a library, or a path a user typed) is folded onto one line."""
    from ingest.run import one_line
    assert one_line(text) == line
    assert one_line(ValueError(text)) == line
