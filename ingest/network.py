"""The networks: the study's 2 → N ReLU → × mask → 2 softmax (`Network`), any MLP of 1 to 4 hidden
layers of relu or tanh units (`MLP`), their training, and their weights as rows.

The study's shape (one hidden layer of ReLUs) keeps its own class, training loop and tensor names
(`hidden.*`, `output.*`), so its weights are bit for bit what they always were. Every other network
is an `MLP`, stored as `layers.0.*` (input side) … `layers.L.*` (the 2-logit output layer).
"""
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


def _act(activation: str):
    return torch.relu if activation == "relu" else torch.tanh


class MLP(nn.Module):
    """2 → sizes[0] → … → sizes[-1] → 2 logits; each hidden unit is activated, then multiplied by its
    gate when its layer is masked (1-based `mask_layers`, default all), gates layer by layer."""

    def __init__(self, sizes: tuple[int, ...], activation: str = "relu", mask_layers: tuple[int, ...] = ()):
        super().__init__()
        widths = [2, *sizes, 2]
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:]))
        self.sizes, self.activation = tuple(sizes), activation
        self.mask_layers = tuple(sorted(mask_layers)) or tuple(range(1, len(sizes) + 1))
        for layer in self.layers:  # Keras' defaults, as Network
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        """Logits; `mask` (… × N) holds the gates of the masked units, layer by layer."""
        h, at, act = x, 0, _act(self.activation)
        for i, layer in enumerate(self.layers[:-1]):
            h = act(layer(h))
            if mask is not None and i + 1 in self.mask_layers:
                h = h * mask[..., at:at + self.sizes[i]]
                at += self.sizes[i]
        return self.layers[-1](h)


def make(config) -> nn.Module:
    """An untrained network of the config's shape (initialised from torch's current seed)."""
    if config.study_shape:
        return Network(config.layers[0])
    return MLP(config.layers, config.activation, config.mask_layers)


def linear_layers(net: nn.Module) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(weight, bias), …] as float32 numpy arrays, input side first, the output layer last."""
    layers = (net.hidden, net.output) if isinstance(net, Network) else net.layers
    return [(layer.weight.detach().numpy(), layer.bias.detach().numpy()) for layer in layers]


def logit_difference(net: nn.Module, x: np.ndarray) -> np.ndarray:
    """logit(outside) − logit(inside) of the full network at each point (float32 forward pass)."""
    with torch.no_grad():
        logits = net(torch.as_tensor(x, dtype=torch.float32))
        return (logits[:, 1] - logits[:, 0]).numpy()


@contextmanager
def one_thread():
    """Training steps are tiny: one thread is fastest, and makes results independent of core count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def train_many(config, data: list[tuple[np.ndarray, np.ndarray]], seeds: list[int], progress=None) -> list:
    """Train one network of the config's shape per seed (the study's shape: `train_study`)."""
    if config.study_shape:
        return train_study(config, data, seeds, progress)
    return train_mlp(config, data, seeds, progress)


def _lockstep(config, data: list[tuple[np.ndarray, np.ndarray]], seeds: list[int], stacked: list[torch.Tensor],
              act, progress=None) -> None:
    """Train the stacked parameters [W1, b1, …, W_out, b_out] (a leading network axis each) in place:
    RMSprop on mean cross-entropy, batches reshuffled each epoch by each seed's own generator, one
    batched product per layer and step; raises UserError if training diverged."""
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
                h = x[rows, batch]
                for i in range(0, len(stacked) - 2, 2):
                    h = act(torch.baddbmm(stacked[i + 1][:, None, :], h, stacked[i].transpose(1, 2)))
                logits = torch.baddbmm(stacked[-1][:, None, :], h, stacked[-2].transpose(1, 2))
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


def train_study(config, data: list[tuple[np.ndarray, np.ndarray]], seeds: list[int], progress=None) -> list[Network]:
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
        nets.append(Network(config.layers[0]))
    stacked = [torch.stack([getattr(getattr(n, layer), kind).detach() for n in nets]).requires_grad_()
               for layer in ("hidden", "output") for kind in ("weight", "bias")]
    w1, b1, w2, b2 = stacked
    _lockstep(config, data, seeds, stacked, torch.relu, progress)
    with torch.no_grad():
        for i, net in enumerate(nets):
            net.hidden.weight.copy_(w1[i])
            net.hidden.bias.copy_(b1[i])
            net.output.weight.copy_(w2[i])
            net.output.bias.copy_(b2[i])
    return nets


def train_mlp(config, data: list[tuple[np.ndarray, np.ndarray]], seeds: list[int], progress=None) -> list[MLP]:
    """`train_study` for any MLP: the same lockstep training (initial weights and batch order from
    each seed, RMSprop on mean cross-entropy, each network seeing only its own gradients), through
    every layer. Training is never masked: every gate is 1."""
    nets = []
    for seed in seeds:
        torch.manual_seed(seed)
        nets.append(make(config))
    stacked = [torch.stack([getattr(n.layers[i], kind).detach() for n in nets]).requires_grad_()
               for i in range(len(config.layers) + 1) for kind in ("weight", "bias")]
    _lockstep(config, data, seeds, stacked, _act(config.activation), progress)
    with torch.no_grad():
        for i, net in enumerate(nets):
            for j, layer in enumerate(net.layers):
                layer.weight.copy_(stacked[2 * j][i])
                layer.bias.copy_(stacked[2 * j + 1][i])
    return nets


def tensor_names(net: nn.Module) -> list[str]:
    if isinstance(net, Network):
        return list(TENSORS)
    return [f"layers.{i}.{kind}" for i in range(len(net.layers)) for kind in ("weight", "bias")]


def weights_table(net: nn.Module, run_id: int) -> pa.Table:
    """Long form (tensor, row, col, value): a matrix W has rows W.shape[0], vectors use col 0."""
    cols = {"run_id": [], "tensor": [], "row": [], "col": [], "value": []}
    state = net.state_dict()
    for name in tensor_names(net):
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


def from_weights_table(table: pa.Table, run_id: int, config=None) -> nn.Module:
    """Rebuild a network from stored rows: plain numbers only, nothing executable is loaded. The
    study's tensor names give a Network; `layers.*` an MLP of the config's activation and masks."""
    rows = table.filter(pc.equal(table["run_id"], run_id)).to_pydict()
    if not rows["tensor"]:
        raise UserError(f"no weights stored for run {run_id}")
    if "hidden.bias" in rows["tensor"]:
        net = Network(1 + max(r for t, r in zip(rows["tensor"], rows["row"]) if t == "hidden.bias"))
    else:
        depth = max(int(t.split(".")[1]) for t in rows["tensor"])
        sizes = tuple(1 + max(r for t, r in zip(rows["tensor"], rows["row"]) if t == f"layers.{i}.bias")
                      for i in range(depth))
        net = MLP(sizes, config.activation if config else "relu", config.mask_layers if config else ())
    state = {name: torch.zeros_like(v) for name, v in net.state_dict().items()}
    for t, r, c, v in zip(rows["tensor"], rows["row"], rows["col"], rows["value"]):
        target = state[t]
        if target.ndim == 2:
            target[r, c] = v
        else:
            target[r] = v
    net.load_state_dict(state)
    return net
