"""The benchmark's derived figures (rates and speedups) against its own measured seconds.

Two ways: in-process with the timers replaced by known durations, every ratio recomputed here by
hand; and the real command, whose printed ratios must lie inside the interval its own printed,
rounded seconds allow."""
from __future__ import annotations

import json
import subprocess
import sys
from argparse import Namespace

import pytest

from ingest import bench
from tests.conftest import ROOT

ARGS = ["--hidden", "6", "--test-points", "40", "--masks", "5", "--epochs", "0"]


def test_ratios_from_known_durations(monkeypatch, capsys):
    real_kernel, real_naive, real_per_mask = bench.run_kernel, bench.run_naive, bench.run_per_mask
    # every loop runs for real (its numbers are compared); only the durations are fixed
    monkeypatch.setattr(bench, "run_kernel", lambda *a: (0.25, 0.5, *real_kernel(*a)[2:]))
    monkeypatch.setattr(bench, "run_naive", lambda *a: (3.0, *real_naive(*a)[1:]))
    monkeypatch.setattr(bench, "run_per_mask", lambda *a: (2.0, *real_per_mask(*a)[1:]))
    args = Namespace(hidden=6, test_points=40, masks=5, epochs=0, train_points=2000, seed=0, device="cpu")
    r = bench.bench(args)
    total = 64
    assert r["kernel_seconds"] == 0.25 and r["naive_seconds"] == 3.0 and r["per_mask_seconds"] == 2.0
    assert r["kernel_masks_per_s"] == total / 0.25 == 256
    assert r["naive_masks_per_s"] == round(total / 3.0) == 21
    assert r["kernel_cpu_cores_busy"] == 2.0
    assert r["speedup_vs_naive"] == 12.0  # the naive way takes 12 times as long as the kernel
    assert r["per_mask_masks_per_s"] == 2.5  # 5 masks in 2 s
    assert r["per_mask_extrapolated_seconds"] == 25.6  # 64 masks at 2.5 per second
    assert r["speedup_vs_per_mask"] == pytest.approx(25.6 / 0.25)
    bench.report(r)
    table = capsys.readouterr().out
    naive_row = next(line for line in table.splitlines() if line.startswith("naive eager torch"))
    assert naive_row.split()[-1] == "12.0×" and "3.00" in naive_row.split()
    extrapolated = next(line for line in table.splitlines() if "extrapolated" in line)
    assert extrapolated.split()[-1] == "102×"


def interval(value: float, digits: int) -> tuple[float, float]:
    """The values that print as `value` when rounded to `digits` decimals."""
    half = 0.5 * 10 ** -digits
    return max(value - half, 1e-12), value + half


def test_the_cli_speedups_agree_with_its_printed_seconds():
    proc = subprocess.run([sys.executable, "-m", "ingest.bench", *ARGS], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    r = json.loads(proc.stdout.strip().splitlines()[-1])
    k_lo, k_hi = interval(r["kernel_seconds"], 4)
    n_lo, n_hi = interval(r["naive_seconds"], 4)
    assert n_lo / k_hi - 0.005 <= r["speedup_vs_naive"] <= n_hi / k_lo + 0.005
    assert 64 / k_hi - 0.5 <= r["kernel_masks_per_s"] <= 64 / k_lo + 0.5
    assert 64 / n_hi - 0.5 <= r["naive_masks_per_s"] <= 64 / n_lo + 0.5
    p_lo, p_hi = interval(r["per_mask_seconds"], 4)
    assert 5 / p_hi - 0.05 <= r["per_mask_masks_per_s"] <= 5 / p_lo + 0.05
    extrapolated = 64 / r["per_mask_masks_per_s"]  # seconds for all masks at the printed per-mask rate
    assert r["per_mask_extrapolated_seconds"] == pytest.approx(extrapolated, abs=0.051)
