"""The study's network, 2 → N ReLU → × mask → 2 softmax, its training, and its weights as rows."""
from __future__ import annotations

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


def train(config, x: np.ndarray, y: np.ndarray, seed: int, progress=None) -> Network:
    """RMSprop on mean cross-entropy, batches reshuffled each epoch: the study's model.fit."""
    torch.manual_seed(seed)
    net = Network(config.hidden)
    # torch's RMSprop divides by sqrt(v) + eps like Keras'; alpha is Keras' rho.
    opt = torch.optim.RMSprop(net.parameters(), lr=config.learning_rate, alpha=config.rho,
                              eps=config.epsilon, momentum=0.0, centered=False)
    xt = torch.as_tensor(x, dtype=torch.float32)
    yt = torch.as_tensor(y, dtype=torch.int64)
    order_gen = torch.Generator().manual_seed(seed)
    loss_fn = nn.CrossEntropyLoss()
    for _ in range(config.epochs):
        order = torch.randperm(len(xt), generator=order_gen)
        for start in range(0, len(xt), config.batch_size):
            batch = order[start:start + config.batch_size]
            opt.zero_grad(set_to_none=True)
            loss = loss_fn(net(xt[batch]), yt[batch])
            loss.backward()
            opt.step()
        if not torch.isfinite(loss):
            raise UserError("training diverged (non-finite loss); lower --learning-rate")
        if progress is not None:
            progress.update(1)
    for p in net.parameters():
        if not torch.isfinite(p).all():
            raise UserError("training diverged (non-finite weights); lower --learning-rate")
    return net


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
