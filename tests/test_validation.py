"""Everything a run can be told is checked before anything is computed or written: seeds against the
generators they feed, sizes against the machine's memory and disk, the grid against float limits,
and every flag and TOML value strictly; a failure found later leaves a complete store complete."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ingest import budget, cli, config
from ingest.errors import UserError
from tests.conftest import run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]


def refused(*argv: str, match: str) -> str:
    with pytest.raises(UserError) as info:
        cli.parse(list(argv))
    text = str(info.value)
    assert match in text and "\n" not in text, text
    return text


@pytest.mark.parametrize("argv,match", [
    (["--test-seed", str(2 ** 32)], "legacy RandomState"),
    (["--mask-seed", str(2 ** 32)], "legacy RandomState"),
    (["--train-seeds", str(2 ** 64)], "train_seeds"),
    (["--train-seed", str(2 ** 63)], "train_seeds"),
    (["--path-seed", str(2 ** 63)], "path_seed"),
    (["--grid-extent", "1e300"], "too large"),
    (["--grid-extent", "inf"], "ASCII digits"),
    (["--keep-probs", "0.5,,0.6"], "empty item"),
    (["--keep-probs", "0.5,"], "empty item"),
    (["--train-seeds", "0,,1"], "empty item"),
    (["--hidden", "٣"], "ASCII digits"),
    (["--hidden", "1_0"], "ASCII digits"),
    (["--epochs", "２"], "ASCII digits"),
    (["--learning-rate", "١.٥"], "ASCII digits"),
    (["--learning-rate", "nan"], "ASCII digits"),
    (["--train-seed", "1,2"], "ASCII digits"),
    (["--hidden", "9" * 5000], "4,300 digits"),
    (["--device", "cudax"], "cpu, cuda or cuda:N"),
    (["--device", "cuda", "--hidden", "4,4"], "runs on the CPU only"),
    (["--device", "cuda:0", "--activation", "tanh"], "runs on the CPU only"),
])
def test_bad_values_are_refused_in_one_line(argv, match):
    refused(*argv, match=match)


def test_a_config_file_with_no_seed_is_refused(tmp_path):
    path = tmp_path / "run.toml"
    path.write_text("train_seeds = []\n")
    assert refused("--config", str(path), match="config 'train_seeds' must list at least one seed") == \
        "config 'train_seeds' must list at least one seed"


def test_the_limits_themselves_are_accepted():
    c, _ = cli.parse(["--test-seed", str(2 ** 32 - 1), "--mask-seed", "0", "--train-seeds", f"{2 ** 63 - 1}, 0",
                      "--path-seed", str(2 ** 63 - 1), "--grid-extent", "1e18", "--hidden", " 8 "])
    assert c.test_seed == 2 ** 32 - 1 and c.train_seeds == (2 ** 63 - 1, 0) and c.hidden == 8


def toml(tmp_path, text: str) -> str:
    path = tmp_path / "c.toml"
    path.write_text(text)
    return str(path)


def test_conflicting_keys_in_one_file_are_refused(tmp_path):
    refused("--config", toml(tmp_path, "train_seed = 1\ntrain_seeds = [2]\n"), match="both set 'train_seeds'")
    refused("--config", toml(tmp_path, 'train_points = 10\n"train-points" = 20\n'), match="both set 'train_points'")


def test_toml_values_are_checked_even_when_a_flag_overrides_them(tmp_path):
    for text, match in [('hidden = "8"\n', "must be an integer"), ("hidden = 8.0\n", "must be an integer"),
                        ("hidden = true\n", "must be an integer"), ('keep_probs = "0.5"\n', "list of numbers"),
                        ("keep_probs = [0.5, true]\n", "must be a number"), ("exhaustive = 1\n", "true or false"),
                        ("train_seed = [1, 2]\n", "must be an integer"), ("train_seeds = 3\n", "list of integers")]:
        path = toml(tmp_path, text)
        refused("--config", path, "--hidden", "4", "--keep-probs", "0.5", "--exhaustive", "--train-seeds", "1",
                match=match)


def test_toml_numbers_and_lists_of_the_right_type_are_accepted(tmp_path):
    c, _ = cli.parse(["--config", toml(tmp_path, "hidden = 8\nlearning_rate = 1\nkeep_probs = [0.25, 1e-1]\n"
                                                  "train_seed = 3\n")])
    assert (c.hidden, c.learning_rate, c.keep_probs, c.train_seeds) == (8, 1.0, (0.25, 0.1), (3,))


def test_the_config_file_is_capped_in_size(tmp_path):
    refused("--config", "/dev/zero", match="larger than")
    big = tmp_path / "big.toml"
    big.write_text("# padding\n" * 200_000)
    refused("--config", str(big), match="larger than")
    refused("--config", toml(tmp_path, "a = " + "[" * 5000), match="invalid TOML")


@pytest.mark.parametrize("flag,value,what", [
    ("--test-points", "1000000000000", "training"),
    ("--grid-size", "100000", "the input grid"),
    ("--samples-per-prob", "1000000000", "the summary of all masks"),  # one row per (sample, node)
    ("--flip-paths", "1000000000", "the flip paths"),
])
def test_sizes_beyond_the_machine_are_refused_with_the_estimate(flag, value, what, tmp_path):
    c, _ = cli.parse([flag, value])
    with pytest.raises(UserError) as info:
        budget.check(c, tmp_path / "store")
    text = str(info.value)
    assert "needs about" in text and what in text and "GB" in text, text
    assert not (tmp_path / "store").exists()


def test_disk_is_estimated_against_the_free_space(tmp_path, monkeypatch):
    c, _ = cli.parse(["--train-seed", "0"])
    monkeypatch.setattr(budget.shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10 ** 12, 10 ** 12, 10 ** 6))
    with pytest.raises(UserError, match="of disk"):
        budget.check(c, tmp_path / "store")


def test_the_default_run_fits_a_small_machine():
    c = config.Config()
    assert budget.BASELINE + max(budget.memory_by_stage(c).values()) < 2e9
    assert budget.disk_bytes(c) < 1e9


@pytest.fixture(scope="module")
def complete(tmp_path_factory):
    store = tmp_path_factory.mktemp("complete") / "store"
    run_cli("--store", str(store), *TINY, check=True)
    return store


def snapshot(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("args", [["--grid-extent", "1e300"], ["--test-seed", str(2 ** 32)],
                                  ["--mask-seed", "4294967296"], ["--train-seeds", "18446744073709551616"],
                                  ["--test-points", "1000000000000"], ["--grid-size", "100000"],
                                  ["--samples-per-prob", "1000000000"], ["--flip-paths", "1000000000"]])
def test_a_refused_rerun_leaves_a_complete_store_as_it_was(complete, args):
    before = snapshot(complete)
    proc = run_cli("--store", str(complete), *TINY, *args)
    lines = proc.stderr.strip().splitlines()
    assert proc.returncode == 2 and len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "nothing was written" not in proc.stderr
    assert snapshot(complete) == before


def test_a_failure_found_after_training_leaves_a_complete_store_complete(complete, tmp_path):
    """The grid is checked against the trained networks before any stage writes: a complete store
    stays complete, and the message says so truthfully."""
    store = tmp_path / "store"
    shutil.copytree(complete, store)
    before = snapshot(store)
    import subprocess
    import sys

    from tests.conftest import ROOT
    proc = subprocess.run([sys.executable, str(ROOT / "tests" / "harness.py"), "grid-fails", "--",
                           "--store", str(store), *TINY, "--grid-size", "7", "--samples-per-prob", "11"],
                          cwd=ROOT, capture_output=True, text=True)
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error")]
    assert proc.returncode == 2 and len(errors) == 1 and errors[0].endswith("(no results were written to the store)")
    assert "Traceback" not in proc.stderr
    assert snapshot(store) == before
    assert json.loads((store / "manifest.json").read_text())["status"] == "complete"


def test_a_network_that_overflows_on_the_grid_is_refused():
    import numpy as np
    import torch

    from ingest import stages
    from ingest.network import Network
    net = Network(4)
    with torch.no_grad():
        net.hidden.weight.fill_(1e30)
    c = config.Config(hidden=4, grid_extent=1e18)
    from ingest.kernel import MaskKernel
    t = stages.Trained(0, net, MaskKernel(Network(4), np.zeros((8, 2)), np.zeros(8, np.int64)))
    with pytest.raises(UserError, match="non-finite activations"):
        stages.check_grid(c, t)
    stages.check_grid(config.Config(hidden=4), stages.Trained(0, Network(4), t.kernel))
