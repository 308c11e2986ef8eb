"""A piped run says what each step starts and how long it took; a terminal gets bars instead."""
from __future__ import annotations

import re

import pytest

from ingest import progress, stages
from tests.conftest import run_cli_subprocess
from tests.test_ingest_stages import TINY


def test_a_piped_run_logs_the_start_and_end_of_every_step(tmp_path):
    # a real process whose stderr is a pipe: every line it writes there, from any library, is checked
    proc = run_cli_subprocess("--store", str(tmp_path / "store"), *TINY, check=True)
    lines = proc.stderr.splitlines()
    assert lines and all(line.startswith("[knockout] ") for line in lines), proc.stderr
    for step in [*stages.STAGES, "warehouse"]:
        ours = [line for line in lines if line.startswith(f"[knockout] {step}: ")]
        assert len(ours) == 2, (step, lines)
        assert ours[0].endswith(" …")
        assert re.fullmatch(rf"\[knockout\] {step}: done in \d+\.\d s( \(.*\))?", ours[1]), ours[1]
    assert lines[0] == "[knockout] train: 1 network, 1 epoch …"
    assert lines[-1].startswith("[knockout] warehouse: done in ")


def test_a_failed_step_prints_no_end_line(capsys):
    with pytest.raises(RuntimeError):
        with progress.step("grid", "1 network"):
            raise RuntimeError("boom")
    with progress.step("samples", "2 networks", total=2, unit="network") as bar:
        bar.update(2)
        bar.note = "reused 1 of 2 files"
    lines = capsys.readouterr().err.splitlines()  # captured: not a terminal, so lines, no bar
    assert lines[0] == "[knockout] grid: 1 network …"
    assert lines[1] == "[knockout] samples: 2 networks …"
    assert re.fullmatch(r"\[knockout\] samples: done in \d+\.\d s \(reused 1 of 2 files\)", lines[2])
    assert len(lines) == 3
