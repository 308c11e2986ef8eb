"""The mask kernel against torch autograd through the study's network and against finite differences."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from ingest.kernel import MaskKernel
from ingest.network import Network
from tests import oracle


def random_setup(hidden: int, points: int, seed: int):
    torch.manual_seed(seed)
    net = Network(hidden)
    with torch.no_grad():  # non-zero biases so every term of the kernel matters
        for p in net.parameters():
            p.add_(0.3 * torch.randn_like(p))
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1, 1, size=(points, 2))
    y = (np.sum(x * x, axis=1) > 0.6).astype(np.int64)
    masks = rng.integers(0, 2 ** hidden, size=40)
    return net, x, y, masks




@pytest.mark.parametrize("hidden", [6, 20])
def test_kernel_matches_autograd(hidden):
    net, x, y, masks = random_setup(hidden, 300, seed=hidden)
    loss, grad = MaskKernel(net, x, y).evaluate(masks)
    double = Network(hidden).double()
    double.load_state_dict({k: v.double() for k, v in net.state_dict().items()})
    xt = torch.as_tensor(x)
    yt = torch.as_tensor(y)
    for m, l_k, g_k in zip(masks, loss, grad):
        mask = torch.tensor([(int(m) >> i) & 1 for i in range(hidden)], dtype=torch.float64,
                            requires_grad=True)
        l = torch.nn.functional.cross_entropy(double(xt, mask), yt)
        l.backward()
        assert l_k == pytest.approx(l.item(), rel=2e-6, abs=1e-7)
        np.testing.assert_allclose(g_k, mask.grad.numpy(), rtol=1e-4, atol=2e-6)


@pytest.mark.parametrize("hidden", [6, 20])
def test_kernel_matches_finite_differences(hidden):
    net, x, y, masks = random_setup(hidden, 200, seed=100 + hidden)
    _, grad = MaskKernel(net, x, y).evaluate(masks[:8])
    w = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    eps = 1e-6
    for m, g_k in zip(masks[:8], grad):
        base = oracle.bits([m], hidden)[0]
        fd = []
        for i in range(hidden):
            up, down = base.copy(), base.copy()
            up[i] += eps
            down[i] -= eps
            l_up, _ = oracle.loss_and_grad(w, x, y, up[None])
            l_down, _ = oracle.loss_and_grad(w, x, y, down[None])
            fd.append((l_up[0] - l_down[0]) / (2 * eps))
        np.testing.assert_allclose(g_k, fd, rtol=1e-4, atol=2e-6)


def test_pointwise_matches_oracle():
    net, x, y, _ = random_setup(7, 150, seed=3)
    loss, node_grad = MaskKernel(net, x, y).pointwise((1 << 7) - 1)
    w = {k: v.detach().double().numpy() for k, v in net.state_dict().items()}
    _, point_loss, h = oracle.pointwise(w, x, y)
    np.testing.assert_allclose(loss, point_loss, rtol=1e-5, atol=1e-6)
    # The mean of the pointwise gradients is the mask gradient of the mean loss.
    _, grad = oracle.loss_and_grad(w, x, y, np.ones((1, 7)))
    np.testing.assert_allclose(node_grad.mean(axis=0), grad[0], rtol=1e-4, atol=1e-6)
