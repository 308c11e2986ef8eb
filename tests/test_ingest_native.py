"""The C loops: a real .c file shipped as package data that compiles without warnings, and a fallback
to the torch path that says why in exactly one line, once per process."""
from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch

from ingest import native
from ingest.kernel import MaskKernel
from ingest.network import Network
from tests import oracle

ROOT = Path(__file__).resolve().parent.parent


def test_knock_c_compiles_with_warnings_on_and_gives_none(tmp_path):
    compiler = native.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler here")
    assert "-Wall" in native.FLAGS and "-Wextra" in native.FLAGS
    # the run's own flags, plus -Werror: any warning fails this test (never the run)
    proc = subprocess.run([compiler, *native.FLAGS, "-Werror", "-o", str(tmp_path / "knock.so"),
                           str(native.SOURCE), "-lm"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_knock_c_is_package_data():
    assert native.SOURCE == ROOT / "ingest" / "knock.c"
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "knock.c" in package_data["ingest"]


def fresh_process(monkeypatch):
    """As if the loops had never been loaded in this process."""
    monkeypatch.setattr(native, "_loaded", {})
    monkeypatch.setattr(native.platform, "machine", lambda: "x86_64")


class NoAvx:
    def knock_cpu_ok(self):
        return 0


def broken_source(monkeypatch, tmp_path):
    src = tmp_path / "knock.c"
    src.write_text("int knock_cpu_ok(void) { return undeclared_name; }\n")
    monkeypatch.setattr(native, "SOURCE", src)  # its cache folder is then tmp_path/__pycache__


REASONS = {
    "no compiler": (lambda mp, tmp: mp.setattr(native, "find_compiler", lambda: None), "no C compiler found"),
    "non-x86": (lambda mp, tmp: mp.setattr(native.platform, "machine", lambda: "aarch64"),
                "not an x86 machine (aarch64)"),
    "no AVX2": (lambda mp, tmp: mp.setattr(native, "_open", lambda compiler, path: NoAvx()), "lacks AVX2 + FMA"),
    "compile fails": (broken_source, "compiling knock.c failed:"),
}


@pytest.mark.parametrize("reason", REASONS)
def test_fallback_says_why_in_one_line(reason, monkeypatch, tmp_path, capsys):
    fresh_process(monkeypatch)
    breaks, message = REASONS[reason]
    if reason == "compile fails" and native.find_compiler() is None:
        pytest.skip("no C compiler here")
    breaks(monkeypatch, tmp_path)
    assert native.load() is None
    assert native.load() is None  # asked again: answered from memory, nothing printed
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("[knockout] mask kernel: ") and message in lines[0]
    assert lines[0].endswith("using the slower torch path")
    if reason == "compile fails":
        assert "error" in lines[0] and "undeclared_name" in lines[0]  # the compiler's own first error


def test_without_a_compiler_the_kernel_still_works_on_the_torch_path(monkeypatch, capsys):
    fresh_process(monkeypatch)
    monkeypatch.setattr(native, "find_compiler", lambda: None)
    torch.manual_seed(0)
    net = Network(6)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, size=(120, 2))
    y = (np.sum(x * x, axis=1) > 0.7).astype(np.int64)
    masks = np.arange(64)
    kernels = [MaskKernel(net, x, y) for _ in range(3)]  # three kernels, one process: one line
    assert {k.backend for k in kernels} == {"torch"}
    loss, grad = kernels[0].evaluate(masks)
    w = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    ref_loss, ref_grad = oracle.loss_and_grad(w, x, y, oracle.bits(masks, 6))
    np.testing.assert_allclose(loss, ref_loss, rtol=1e-5)
    np.testing.assert_allclose(grad, ref_grad, rtol=1e-4, atol=1e-6)
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "no C compiler found" in lines[0], lines
