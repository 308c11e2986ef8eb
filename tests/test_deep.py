"""The deep evaluator (ingest/deep.py + deep.c) against independent references: per-mask torch
autograd through a float64 masked forward pass written here, float64 finite differences of a numpy
forward pass, and the one-layer fast path (ingest/kernel.py)."""
from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from functools import lru_cache
from pathlib import Path

import numpy as np
import pytest
import torch

from ingest import bench, deep, native
from ingest.deep import DeepKernel
from ingest.kernel import MaskKernel
from ingest.network import Network, one_thread

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ["native", "torch"]


@pytest.fixture(autouse=True)
def torch_on_one_thread():
    """The references are tiny: torch's second thread would only spin (and the evaluator's workers
    set their own threads)."""
    with one_thread():
        yield


def random_layers(sizes, seed):
    """Weights and biases of a 2 → sizes → 2 MLP, large enough that every term matters."""
    g = torch.Generator().manual_seed(seed)
    dims = [2, *sizes, 2]
    return [(torch.randn(o, i, generator=g, dtype=torch.float64).numpy(),
             0.5 * torch.randn(o, generator=g, dtype=torch.float64).numpy()) for i, o in zip(dims[:-1], dims[1:])]


def points(n, seed):
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(n, 2))
    return x, (np.sum(x * x, axis=1) > 0.7).astype(np.int64)


def masked_units(layers, mask_layers):
    sizes = [len(b) for _, b in layers[:-1]]
    return sizes, [i + 1 in mask_layers for i in range(len(sizes))]


def autograd(layers, act, mask_layers, x, y, masks):
    """One float64 forward pass per mask, gates multiplying the activations, backward to the gates."""
    sizes, masked = masked_units(layers, mask_layers)
    n = sum(s for s, m in zip(sizes, masked) if m)
    layers = [(np.asarray(w, np.float64), np.asarray(b, np.float64)) for w, b in layers]
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    losses, grads = [], []
    for mask in masks:
        on = torch.tensor([(int(mask) >> i) & 1 for i in range(n)], dtype=torch.float64, requires_grad=True)
        h, at = xt, 0
        for (w, b), size, is_masked in zip(layers[:-1], sizes, masked):
            z = h @ torch.as_tensor(w).T + torch.as_tensor(b)
            h = torch.relu(z) if act == "relu" else torch.tanh(z)
            if is_masked:
                h = h * on[at:at + size]
                at += size
        logits = h @ torch.as_tensor(layers[-1][0]).T + torch.as_tensor(layers[-1][1])
        loss = torch.nn.functional.cross_entropy(logits, yt)
        loss.backward()
        losses.append(loss.item())
        grads.append(on.grad.numpy().copy())
    return np.array(losses), np.array(grads)


def numpy_loss(layers, act, mask_layers, x, y, gates):
    """Mean cross-entropy for real-valued gates, float64 numpy (no torch, no chain rule)."""
    sizes, masked = masked_units(layers, mask_layers)
    h, at = x, 0
    for (w, b), size, is_masked in zip(layers[:-1], sizes, masked):
        z = h @ w.T + b
        h = np.maximum(z, 0) if act == "relu" else np.tanh(z)
        if is_masked:
            h = h * gates[at:at + size]
            at += size
    logits = h @ layers[-1][0].T + layers[-1][1]
    log_norm = np.logaddexp(logits[:, 0], logits[:, 1])
    return float(np.mean(log_norm - logits[np.arange(len(y)), y]))


def evaluator(layers, x, y, act, mask_layers, backend, **kw):
    if backend == "native" and native.find_compiler() is None:
        pytest.skip("no C compiler: the deep evaluator runs its torch path here")
    k = DeepKernel(layers, x, y, activation=act, mask_layers=mask_layers, use_native=backend == "native", **kw)
    assert k.backend == backend
    return k


def assert_close(loss, grad, ref_loss, ref_grad, rel=1e-5):
    """Loss within `rel` relative; each gradient within `rel` of its mask's largest gradient."""
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(loss, ref_loss, rtol=rel, atol=0)
    scale = np.abs(ref_grad).max(axis=1, keepdims=True)
    assert np.all(np.abs(grad - ref_grad) <= rel * scale)


CASES = {  # sizes, activation, masked layers
    "3+3 relu": ([3, 3], "relu", [1, 2]),
    "3+3 tanh": ([3, 3], "tanh", [1, 2]),
    "2+2+2 relu": ([2, 2, 2], "relu", [1, 2, 3]),
    "2+2+2 tanh": ([2, 2, 2], "tanh", [1, 2, 3]),
    "3+3 layer 1 only": ([3, 3], "relu", [1]),
    "3+3 layer 2 only": ([3, 3], "relu", [2]),
    "2+3+2+2 tanh, layers 1 and 3": ([2, 3, 2, 2], "tanh", [1, 3]),
    "2+2+3, layers 2 and 3": ([2, 2, 3], "relu", [2, 3]),
    "2+2+2 tanh, layers 1 and 3": ([2, 2, 2], "tanh", [1, 3]),
}


@lru_cache(maxsize=None)
def case_reference(case):
    """A case's network, points and its all-masks autograd table, computed once for both backends."""
    sizes, act, mask_layers = CASES[case]
    layers = random_layers(sizes, seed=3)
    x, y = points(150, seed=1)
    n = sum(sizes[m - 1] for m in mask_layers)
    return layers, x, y, n, autograd(layers, act, mask_layers, x, y, range(1 << n))


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("case", CASES)
def test_all_masks_match_per_mask_autograd(case, backend):
    sizes, act, mask_layers = CASES[case]
    layers, x, y, n, (ref_loss, ref_grad) = case_reference(case)
    k = evaluator(layers, x, y, act, mask_layers, backend)
    assert k.hidden == n
    loss, grad = k.evaluate_range(0, 1 << n)
    assert np.abs(ref_grad).max() > 1e-3  # the network is alive: gradients are not all zero
    assert_close(loss, grad, ref_loss, ref_grad)


@pytest.mark.parametrize("case", ["3+3 relu", "2+2+2 tanh", "3+3 layer 1 only"])
def test_gradients_match_finite_differences(case):
    sizes, act, mask_layers = CASES[case]
    layers = random_layers(sizes, seed=4)
    x, y = points(120, seed=2)
    k = DeepKernel(layers, x, y, activation=act, mask_layers=mask_layers)
    masks = np.array([0, 5, (1 << k.hidden) - 1, 0b101011 & ((1 << k.hidden) - 1)])
    loss, grad = k.evaluate(masks)
    h = 1e-6
    for row, mask in enumerate(masks):
        gates = ((int(mask) >> np.arange(k.hidden)) & 1).astype(np.float64)
        assert loss[row] == pytest.approx(numpy_loss(layers, act, mask_layers, x, y, gates), rel=1e-5)
        fd = np.empty(k.hidden)
        for i in range(k.hidden):
            up, down = gates.copy(), gates.copy()
            up[i] += h
            down[i] -= h
            fd[i] = (numpy_loss(layers, act, mask_layers, x, y, up)
                     - numpy_loss(layers, act, mask_layers, x, y, down)) / (2 * h)
        assert np.abs(grad[row] - fd).max() <= 1e-4 * max(np.abs(fd).max(), 1e-3)


@pytest.mark.parametrize("hidden", [6, 14])
def test_one_layer_network_equals_the_fast_path(hidden):
    torch.manual_seed(hidden)
    net = Network(hidden)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.5 * torch.randn_like(p))
    x, y = points(90, seed=hidden)
    layers = deep.network_layers(net)
    k = DeepKernel(layers, x, y)
    assert (k.prefix_units, k.tail_units) == (0, hidden)
    loss, grad = k.evaluate_range(0, 1 << hidden)  # 2^14 masks: one prefix split over blocks
    fast_loss, fast_grad = MaskKernel(net, x, y).evaluate_range(0, 1 << hidden)
    assert_close(loss, grad, fast_loss, fast_grad, rel=2e-6)
    masks = np.random.default_rng(0).integers(0, 1 << hidden, 30)
    assert_close(loss[masks], grad[masks], *autograd(layers, "relu", [1], x, y, masks))


@pytest.mark.parametrize("backend", BACKENDS)
def test_larger_network_sampled_masks_and_ranges(backend):
    # 4 + 9 units: tail tables of 2^4 low and 2^5 high rows, rows of a prefix split across blocks
    layers = random_layers([4, 9], seed=5)
    x, y = points(300, seed=5)  # two chunks of points, the second one padded
    k = evaluator(layers, x, y, "relu", None, backend)
    masks = np.r_[np.random.default_rng(5).integers(0, 1 << 13, 60), 0, (1 << 13) - 1]
    loss, grad = k.evaluate(masks)
    assert_close(loss, grad, *autograd(layers, "relu", [1, 2], x, y, masks))
    start, stop = 3000, 3000 + 40
    assert_close(*k.evaluate_range(start, stop), *autograd(layers, "relu", [1, 2], x, y, range(start, stop)))


def test_a_mask_gets_the_same_numbers_wherever_it_is_computed(monkeypatch):
    monkeypatch.setattr(deep, "ROWS", 100)  # many blocks, a prefix's rows split between them
    layers = random_layers([5, 6], seed=6)
    x, y = points(200, seed=6)
    k = DeepKernel(layers, x, y)
    start, stop = 300, 300 + 1500
    loss, grad = k.evaluate_range(start, stop)
    masks = np.arange(start, stop)
    order = np.random.default_rng(6).permutation(len(masks))
    shuffled_loss, shuffled_grad = k.evaluate(masks[order])
    assert np.array_equal(shuffled_loss, loss[order]) and np.array_equal(shuffled_grad, grad[order])
    one_loss, one_grad = k.evaluate(masks[7:8])
    assert one_loss[0] == loss[7] and np.array_equal(one_grad[0], grad[7])
    single = DeepKernel(layers, x, y, workers=1).evaluate_range(start, stop)
    assert np.array_equal(single[0], loss) and np.array_equal(single[1], grad)


@pytest.mark.parametrize("case", ["3+3 tanh", "2+2+2 relu", "2+3+2+2 tanh, layers 1 and 3"])
def test_pointwise_losses_and_gradients(case):
    sizes, act, mask_layers = CASES[case]
    layers = random_layers(sizes, seed=10)
    x, y = points(80, seed=10)
    k = DeepKernel(layers, x, y, activation=act, mask_layers=mask_layers)
    for mask in (0, 5, (1 << k.hidden) - 1):
        loss, grad = k.pointwise(mask)
        assert loss.shape == (80,) and grad.shape == (80, k.hidden) and loss.dtype == np.float32
        table_loss, table_grad = k.evaluate(np.array([mask]))  # the tables' means, another way
        assert loss.mean() == pytest.approx(table_loss[0], rel=1e-5)
        assert np.abs(grad.mean(axis=0) - table_grad[0]).max() <= 1e-5 * np.abs(table_grad).max() + 1e-9
    # other points (a grid): each point's loss from the numpy forward pass, and its own gradients
    grid = np.random.default_rng(1).uniform(-2, 2, (12, 2))
    labels = np.arange(12) % 2
    mask = 0b110101 & ((1 << k.hidden) - 1)
    loss, grad = k.pointwise(mask, grid, labels)
    gates = ((mask >> np.arange(k.hidden)) & 1).astype(np.float64)
    for p in range(12):
        one = numpy_loss(layers, act, mask_layers, grid[p:p + 1], labels[p:p + 1], gates)
        assert loss[p] == pytest.approx(one, rel=1e-6)
    ref_loss, ref_grad = autograd(layers, act, mask_layers, grid[3:4], labels[3:4], [mask])
    np.testing.assert_allclose(grad[3], ref_grad[0], rtol=1e-5, atol=1e-7)


def test_work_blocks_bound_rows_and_prefixes(monkeypatch):
    monkeypatch.setattr(deep, "ROWS", 7)
    k = DeepKernel(random_layers([3, 3], seed=0), *points(20, seed=0))
    k._max_prefixes = 3
    prefix = np.sort(np.random.default_rng(0).integers(0, 8, 200))
    prefix[:40] = 0  # one prefix with many rows, then many with few
    spans = k._blocks(prefix)
    assert spans[0][0] == 0 and spans[-1][1] == len(prefix)
    assert all(a < b for a, b in spans) and all(b == c for (_, b), (c, _) in zip(spans, spans[1:]))
    assert all(b - a <= 7 and len(np.unique(prefix[a:b])) <= 3 for a, b in spans)


def test_large_logits_stay_finite():
    layers = [(w * 8, b * 8) for w, b in random_layers([3, 3], seed=7)]  # logits in the hundreds
    x, y = points(100, seed=7)
    loss, grad = DeepKernel(layers, x, y).evaluate_range(0, 64)
    ref_loss, ref_grad = autograd(layers, "relu", [1, 2], x, y, range(64))
    assert ref_loss.max() > 50
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    assert_close(loss, grad, ref_loss, ref_grad)


def test_empty_and_invalid_requests():
    layers = random_layers([3, 3], seed=8)
    x, y = points(20, seed=8)
    k = DeepKernel(layers, x, y)
    for loss, grad in (k.evaluate_range(5, 5), k.evaluate(np.array([], dtype=np.int64))):
        assert loss.shape == (0,) and grad.shape == (0, 6)
    for bad in ([-1], [64], [3, 1 << 40]):
        with pytest.raises(ValueError):
            k.evaluate(np.array(bad))
    with pytest.raises(ValueError):
        k.evaluate_range(10, 65)
    with pytest.raises(ValueError):
        k.pointwise(64)
    too_deep = random_layers([2, 2, 2, 2, 2], seed=0)
    wrong_chain = [layers[0], (np.zeros((3, 4)), np.zeros(3)), layers[2]]
    three_logits = [layers[0], layers[1], (np.zeros((3, 3)), np.zeros(3))]
    for kwargs, says in (({"layers": too_deep}, "1 … 4 hidden layers, got 5"), ({"layers": wrong_chain}, "do not chain"),
                         ({"layers": three_logits}, "must have 2 logits, got 3"),
                         ({"activation": "sigmoid"}, "activation must be one of"),
                         ({"mask_layers": [3]}, "must lie in 1 … 2"), ({"mask_layers": [0, 1]}, "must lie in 1 … 2")):
        with pytest.raises(ValueError, match=says):
            DeepKernel(**{"layers": layers, "x": x, "y": y, **kwargs})


def test_deep_c_compiles_with_warnings_on_and_is_package_data(tmp_path):
    package_data = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    assert "deep.c" in package_data["ingest"]
    compiler = native.find_compiler()
    if compiler is None:
        pytest.skip("no C compiler here")
    proc = subprocess.run([compiler, *native.FLAGS, "-Werror", "-o", str(tmp_path / "deep.so"),
                           str(deep.SOURCE), "-lm"], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == "", proc.stderr


def test_without_a_compiler_one_line_says_so_and_the_torch_path_answers(monkeypatch, capsys):
    monkeypatch.setattr(deep, "_loaded", {})
    monkeypatch.setattr(native, "find_compiler", lambda: None)
    layers = random_layers([3, 3], seed=9)
    x, y = points(60, seed=9)
    kernels = [DeepKernel(layers, x, y) for _ in range(2)]
    assert {k.backend for k in kernels} == {"torch"}
    lines = capsys.readouterr().err.splitlines()
    assert len(lines) == 1 and "deep evaluator: no C compiler found" in lines[0], lines
    assert_close(*kernels[0].evaluate_range(0, 64), *autograd(layers, "relu", [1, 2], x, y, range(64)))


def test_bench_deep_mode_prints_a_json_line(capsys):
    code = bench.main(["--hidden", "3,3", "--test-points", "40", "--masks", "5", "--epochs", "1",
                       "--train-points", "64"])
    out = capsys.readouterr().out
    assert code == 0
    result = json.loads(out.strip().splitlines()[-1])
    assert result["hidden"] == 6 and result["layer_sizes"] == [3, 3] and result["masks"] == 64
    assert {"kernel_seconds", "naive_seconds", "speedup_vs_naive", "per_mask_masks_per_s"} <= result.keys()
    assert result["max_rel_diff_vs_per_mask"] < 1e-5 and result["max_rel_diff_vs_naive"] < 1e-5
    assert not result["naive_extrapolated"] and result["naive_masks_timed"] == 64


@pytest.mark.parametrize("flags", [["--hidden", "10,x"], ["--hidden", "5,5,5,5,5"], ["--hidden", "4,0"],
                                   ["--hidden", "6", "--activation", "tanh"], ["--naive-masks", "-1"]])
def test_bench_deep_mode_user_errors_are_one_line(flags, capsys):
    assert bench.main(flags) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_bench_help_exits_cleanly(capsys):
    with pytest.raises(SystemExit) as info:
        bench.main(["--help"])
    captured = capsys.readouterr()
    assert info.value.code == 0 and "10,10" in captured.out and "--naive-masks" in captured.out
    assert captured.err == ""
