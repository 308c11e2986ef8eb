"""Lockstep training of several networks against the plain one-network training loop."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ingest.config import Config
from ingest.network import Network, train_many

CONFIG = Config(hidden=7, train_points=300, epochs=3, batch_size=32)


def data(seed: int):
    rng = np.random.default_rng(seed + 100)
    x = rng.uniform(-1, 1, size=(CONFIG.train_points, 2))
    return x, (np.sum(x * x, 1) > 0.8).astype(np.int64)


def plain_training(seed: int) -> Network:
    """The textbook loop: nn.Linear layers, the optimizer over one network, one batch at a time."""
    torch.manual_seed(seed)
    net = Network(CONFIG.hidden)
    opt = torch.optim.RMSprop(net.parameters(), lr=CONFIG.learning_rate, alpha=CONFIG.rho, eps=CONFIG.epsilon)
    x, y = (torch.as_tensor(a) for a in data(seed))
    x = x.float()
    gen = torch.Generator().manual_seed(seed)
    for _ in range(CONFIG.epochs):
        order = torch.randperm(len(x), generator=gen)
        for start in range(0, len(x), CONFIG.batch_size):
            batch = order[start:start + CONFIG.batch_size]
            opt.zero_grad()
            nn.functional.cross_entropy(net(x[batch]), y[batch]).backward()
            opt.step()
    return net


def test_lockstep_training_matches_the_plain_loop():
    seeds = [3, 5, 8]
    nets = train_many(CONFIG, [data(s) for s in seeds], seeds)
    for seed, net in zip(seeds, nets):
        reference = plain_training(seed).state_dict()
        for name, value in net.state_dict().items():
            np.testing.assert_allclose(value.numpy(), reference[name].numpy(), rtol=1e-4, atol=1e-5)


def test_a_network_trains_the_same_alone_or_beside_others():
    together = train_many(CONFIG, [data(s) for s in (3, 5, 8)], [3, 5, 8])
    alone = train_many(CONFIG, [data(5)], [5])
    for name, value in alone[0].state_dict().items():
        assert torch.equal(value, together[1].state_dict()[name]), name
