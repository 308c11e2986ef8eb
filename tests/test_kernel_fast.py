"""The fast exhaustive kernel (tables, fused C loop, blocks, threads) against independent references:
a float64 numpy evaluation of the network written from its definition, and torch autograd through
the real `Network` forward with the mask as a tensor that requires grad."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ingest import kernel as kernel_module
from ingest import native
from ingest.kernel import BLOCK, SPAN, MaskKernel, exact
from ingest.network import Network

ROOT = Path(__file__).resolve().parent.parent
BENCH_KEYS = {"hidden", "test_points", "masks", "kernel_seconds", "kernel_masks_per_s", "naive_seconds",
              "per_mask_masks_per_s", "speedup_vs_naive", "speedup_vs_per_mask", "peak_rss_mb"}
BACKENDS = ["native", "torch"]


def random_net(hidden: int, points: int, seed: int, scale: float = 1.0):
    torch.manual_seed(seed)
    net = Network(hidden)
    with torch.no_grad():  # non-zero biases and larger weights: every term of the kernel matters
        for p in net.parameters():
            p.add_(0.5 * torch.randn_like(p)).mul_(scale)
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(points, 2))
    y = (np.sum(x * x, axis=1) > 0.8).astype(np.int64)
    return net, x, y


def kernel(net, x, y, backend: str, **kw) -> MaskKernel:
    if backend == "native" and native.find_compiler() is None:
        pytest.skip("no C compiler: the kernel runs its torch path here")
    k = MaskKernel(net, x, y, use_native=backend == "native", **kw)
    assert k.backend == backend
    return k


def reference(net, x, y, masks):
    """float64: softmax over the two logits of the masked network, its cross-entropy, and the
    chain rule back to the mask — the network's definition, none of the kernel's algebra."""
    w1, b1, w2, b2 = (t.detach().double().numpy() for t in net.parameters())
    hidden = w1.shape[0]
    bits = ((np.asarray(masks)[:, None] >> np.arange(hidden)) & 1).astype(np.float64)  # M × N
    h = np.maximum(x @ w1.T + b1, 0.0)  # P × N
    logits = np.einsum("mn,pn,kn->mpk", bits, h, w2) + b2  # M × P × 2
    logp = logits - np.logaddexp(logits[..., 0], logits[..., 1])[..., None]
    rows = np.arange(len(y))
    loss = -logp[:, rows, y].mean(axis=1)
    dlogits = np.exp(logp)
    dlogits[:, rows, y] -= 1.0  # ∂(−log p_y)/∂logits = softmax − onehot
    grad = np.einsum("mpk,kn,pn->mn", dlogits, w2, h) / len(y)
    return loss, grad


def autograd(net, x, y, masks):
    """The study's way: the real forward pass in float64, backward to a mask that requires grad."""
    double = Network(net.hidden.out_features).double()
    double.load_state_dict({k: v.double() for k, v in net.state_dict().items()})
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    losses, grads = [], []
    for m in masks:
        mask = torch.tensor([(int(m) >> i) & 1 for i in range(double.hidden.out_features)],
                            dtype=torch.float64, requires_grad=True)
        loss = torch.nn.functional.cross_entropy(double(xt, mask), yt)
        loss.backward()
        losses.append(loss.item())
        grads.append(mask.grad.numpy())
    return np.array(losses), np.array(grads)


def assert_close(loss, grad, ref_loss, ref_grad, rel=1e-5):
    """Loss within `rel` relative; each gradient within `rel` of its mask's largest gradient (single
    gradients can be ~0 by cancellation, where no float32 result has a relative error to speak of)."""
    assert loss.dtype == np.float32 and grad.dtype == np.float32
    np.testing.assert_allclose(loss, ref_loss, rtol=rel, atol=0)
    scale = np.abs(ref_grad).max(axis=1, keepdims=True)
    assert np.all(np.abs(grad - ref_grad) <= rel * scale)


@pytest.mark.parametrize("backend", BACKENDS)
def test_all_masks_n6_match_float64_and_autograd(backend):
    net, x, y = random_net(6, 300, seed=1)
    k = kernel(net, x, y, backend)
    masks = np.arange(64)
    loss, grad = k.evaluate_range(0, 64)
    ref_loss, ref_grad = reference(net, x, y, masks)
    assert_close(loss, grad, ref_loss, ref_grad)
    auto_loss, auto_grad = autograd(net, x, y, masks)
    assert_close(loss, grad, auto_loss, auto_grad)
    # the reference and autograd agree with each other far below the tolerance
    np.testing.assert_allclose(ref_loss, auto_loss, rtol=1e-12)
    np.testing.assert_allclose(ref_grad, auto_grad, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("start, stop", [(5, 50), (17, 18), (0, 1), (63, 64)])
def test_partial_ranges_n6(backend, start, stop):
    net, x, y = random_net(6, 200, seed=2)
    loss, grad = kernel(net, x, y, backend).evaluate_range(start, stop)
    assert_close(loss, grad, *reference(net, x, y, np.arange(start, stop)))


def test_empty_and_invalid_requests():
    net, x, y = random_net(6, 50, seed=6)
    k = MaskKernel(net, x, y)
    for loss, grad in (k.evaluate_range(5, 5), k.evaluate(np.array([], dtype=np.int64))):
        assert loss.shape == (0,) and grad.shape == (0, 6)
    for bad in ([-1], [64], [3, 1 << 40]):
        with pytest.raises(ValueError):
            k.evaluate(np.array(bad))
    with pytest.raises(ValueError):
        k.evaluate_range(10, 65)


@pytest.mark.parametrize("backend", BACKENDS)
def test_n20_ranges_and_random_masks(backend):
    net, x, y = random_net(20, 300, seed=3)
    k = kernel(net, x, y, backend)
    # ranges that start off block and high-part boundaries, cross them, and end off them
    for start, stop in [(1_000_003, 1_000_003 + 700), (BLOCK - 7, 3 * BLOCK + 5), (SPAN - 5, 2 * SPAN + 9),
                        (2**20 - 300, 2**20)]:
        loss, grad = k.evaluate_range(start, stop)
        assert_close(loss, grad, *reference(net, x, y, np.arange(start, stop)))
    masks = np.random.default_rng(3).integers(0, 2**20, 300)
    loss, grad = k.evaluate(masks)
    assert_close(loss, grad, *reference(net, x, y, masks))
    assert_close(loss[:40], grad[:40], *autograd(net, x, y, masks[:40]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_mask_gets_the_same_numbers_wherever_it_is_computed(backend):
    net, x, y = random_net(20, 250, seed=4)
    k = kernel(net, x, y, backend)
    start, stop = 3 * 1024 - 100, 5 * 1024 + 37
    loss, grad = k.evaluate_range(start, stop)
    masks = np.arange(start, stop)
    order = np.random.default_rng(4).permutation(len(masks))
    shuffled_loss, shuffled_grad = k.evaluate(masks[order])
    assert np.array_equal(shuffled_loss, loss[order]) and np.array_equal(shuffled_grad, grad[order])
    one_loss, one_grad = k.evaluate(masks[7:8])
    assert one_loss[0] == loss[7] and np.array_equal(one_grad[0], grad[7])
    single = kernel(net, x, y, backend, workers=1).evaluate_range(start, stop)
    assert np.array_equal(single[0], loss) and np.array_equal(single[1], grad)


@pytest.mark.parametrize("backend", BACKENDS)
def test_overflowing_masks_are_recomputed_exactly(backend, monkeypatch):
    # logits up to a few hundred: exp(t) overflows float32 for some masks
    net, x, y = random_net(8, 200, seed=5, scale=6.0)
    k = kernel(net, x, y, backend)
    repaired = []
    monkeypatch.setattr(kernel_module, "exact", lambda G, g0, m: repaired.append(len(m)) or exact(G, g0, m))
    loss, grad = k.evaluate_range(0, 256)
    assert 0 < sum(repaired) < 256
    assert np.isfinite(loss).all() and np.isfinite(grad).all()
    ref_loss, ref_grad = reference(net, x, y, np.arange(256))
    assert ref_loss.max() > 20
    assert_close(loss, grad, ref_loss, ref_grad)


def test_bench_cli_prints_a_json_line():
    proc = subprocess.run([sys.executable, "-m", "ingest.bench", "--hidden", "6", "--test-points", "40",
                           "--masks", "5", "--epochs", "0"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    result = json.loads(lines[-1])
    assert BENCH_KEYS <= result.keys()
    assert result["hidden"] == 6 and result["masks"] == 64 and result["test_points"] == 40
    assert result["max_rel_diff_vs_per_mask"] < 1e-5 and result["max_rel_diff_vs_naive"] < 1e-5
    assert any("extrapolated" in line for line in lines[:-1])


def test_bench_cli_user_error_is_one_line():
    proc = subprocess.run([sys.executable, "-m", "ingest.bench", "--hidden", "0"], cwd=ROOT,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.startswith("error: ") and len(proc.stderr.strip().splitlines()) == 1
