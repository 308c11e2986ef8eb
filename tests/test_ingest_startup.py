"""`--help` and a bad flag answer before torch (or pyarrow, duckdb, polars) is imported."""
from __future__ import annotations

import subprocess
import sys

import pytest

from tests.conftest import ROOT

HEAVY = ("torch", "pyarrow", "duckdb", "polars")


def run_importtime(*args: str) -> tuple[subprocess.CompletedProcess, set[str], list[str]]:
    """The run, the top-level packages it imported, and its stderr without the import-time lines."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "ingest.run", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    imported, other = set(), []
    for line in proc.stderr.splitlines():
        if line.startswith("import time:"):
            name = line.rsplit("|", 1)[-1].strip()
            imported.add(name.split(".")[0])
        else:
            other.append(line)
    return proc, imported, other


def test_help_imports_no_heavy_library():
    proc, imported, stderr = run_importtime("--help")
    assert proc.returncode == 0 and "--keep-probs" in proc.stdout
    assert "ingest" in imported  # the import-time lines were read at all
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
    assert stderr == []


@pytest.mark.parametrize("args,message", [(["--hidden", "abc"], "must be an integer"),
                                          (["--bogus"], "unrecognized arguments"),
                                          (["--hidden", "0"], "must be positive")])
def test_a_bad_flag_is_one_line_before_any_heavy_import(args, message):
    proc, imported, stderr = run_importtime(*args)
    assert proc.returncode == 2
    assert len(stderr) == 1 and stderr[0].startswith("error: ") and message in stderr[0], stderr
    assert not imported & set(HEAVY), sorted(imported & set(HEAVY))
