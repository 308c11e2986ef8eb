"""The study's network, 2 → N ReLU → × mask → 2 softmax, its training, and its weights as rows."""
from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import torch
from torch import nn

from ingest.errors import UserError

TENSORS = ("hidden.weight", "hidden.bias", "output.weight", "output.bias")


class Network(nn.Module):
    def __init__(self, hidden: int):
        super().__init__()
        self.hidden = nn.Linear(2, hidden)
        self.output = nn.Linear(hidden, 2)
        # Keras defaults the study relied on: Glorot-uniform kernels, zero biases.
        for layer in (self.hidden, self.output):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits. The mask multiplies the hidden units after the ReLU, as in the study."""
        h = torch.relu(self.hidden(x))
        if mask is not None:
            h = h * mask
        return self.output(h)


@contextmanager
def one_thread():
    """Training steps are tiny: one thread is fastest, and makes results independent of core count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_many(config, data: list[tuple[np.ndarray, np.ndarray]], seeds: list[int], progress=None) -> list[Network]:
    """Train one network per seed, all in lockstep: the study's model.fit for each of them.

    RMSprop on mean cross-entropy, batches reshuffled each epoch by the seed's own generator. The
    networks' parameters are stacked and each step is one batched product, so training five networks
    costs little more than one; every network only ever sees its own gradients (the summed loss
    separates), and a network's weights come out bit for bit the same whether it trains alone or
    beside others.
    """
    nets = []
    for seed in seeds:
        torch.manual_seed(seed)
        nets.append(Network(config.hidden))
    stacked = [torch.stack([getattr(getattr(n, layer), kind).detach() for n in nets]).requires_grad_()
               for layer in ("hidden", "output") for kind in ("weight", "bias")]
    w1, b1, w2, b2 = stacked
    # torch's RMSprop divides by sqrt(v) + eps like Keras'; alpha is Keras' rho.
    opt = torch.optim.RMSprop(stacked, lr=config.learning_rate, alpha=config.rho, eps=config.epsilon,
                              momentum=0.0, centered=False)
    x = torch.as_tensor(np.stack([d[0] for d in data]), dtype=torch.float32)
    y = torch.as_tensor(np.stack([d[1] for d in data]), dtype=torch.int64)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    rows = torch.arange(len(seeds))[:, None]
    with one_thread():
        for _ in range(config.epochs):
            order = torch.stack([torch.randperm(x.shape[1], generator=g) for g in generators])
            for start in range(0, x.shape[1], config.batch_size):
                batch = order[:, start:start + config.batch_size]
                h = torch.relu(torch.baddbmm(b1[:, None, :], x[rows, batch], w1.transpose(1, 2)))
                logits = torch.baddbmm(b2[:, None, :], h, w2.transpose(1, 2))
                loss = nn.functional.cross_entropy(logits.transpose(1, 2), y[rows, batch],
                                                   reduction="none").mean(dim=1).sum()
                opt.zero_grad(set_to_none=True)
                loss.backward()
                opt.step()
            if not torch.isfinite(loss):
                raise UserError("training diverged (non-finite loss); lower --learning-rate")
            if progress is not None:
                progress.update(1)
    if not all(torch.isfinite(p).all() for p in stacked):
        raise UserError("training diverged (non-finite weights); lower --learning-rate")
    with torch.no_grad():
        for i, net in enumerate(nets):
            net.hidden.weight.copy_(w1[i])
            net.hidden.bias.copy_(b1[i])
            net.output.weight.copy_(w2[i])
            net.output.bias.copy_(b2[i])
    return nets


def weights_table(net: Network, run_id: int) -> pa.Table:
    """Long form (tensor, row, col, value): a matrix W has rows W.shape[0], vectors use col 0."""
    cols = {"run_id": [], "tensor": [], "row": [], "col": [], "value": []}
    state = net.state_dict()
    for name in TENSORS:
        t = state[name].detach().numpy()
        m = t if t.ndim == 2 else t[:, None]
        rows, cs = np.indices(m.shape)
        cols["run_id"] += [run_id] * m.size
        cols["tensor"] += [name] * m.size
        cols["row"] += rows.ravel().tolist()
        cols["col"] += cs.ravel().tolist()
        cols["value"] += m.ravel().tolist()
    return pa.table({
        "run_id": pa.array(cols["run_id"], pa.int32()),
        "tensor": pa.array(cols["tensor"], pa.string()),
        "row": pa.array(cols["row"], pa.int32()),
        "col": pa.array(cols["col"], pa.int32()),
        "value": pa.array(cols["value"], pa.float32()),
    })


def from_weights_table(table: pa.Table, run_id: int) -> Network:
    """Rebuild a network from stored rows: plain numbers only, nothing executable is loaded."""
    rows = table.filter(pc.equal(table["run_id"], run_id)).to_pydict()
    if not rows["tensor"]:
        raise UserError(f"no weights stored for run {run_id}")
    hidden = 1 + max(r for t, r in zip(rows["tensor"], rows["row"]) if t == "hidden.bias")
    net = Network(hidden)
    state = {name: torch.zeros_like(v) for name, v in net.state_dict().items()}
    for t, r, c, v in zip(rows["tensor"], rows["row"], rows["col"], rows["value"]):
        target = state[t]
        if target.ndim == 2:
            target[r, c] = v
        else:
            target[r] = v
    net.load_state_dict(state)
    return net
