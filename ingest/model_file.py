"""A network trained elsewhere (`--model FILE.safetensors`): its weights read with the safetensors
library, checked, and brought to the form every Knockout network has.

The file is the state dict of a plain `torch.nn.Sequential` of Linear layers and activations,
saved with `safetensors.torch.save_file(model.state_dict(), path)`: keys `{i}.weight` and `{i}.bias`
at the Linear layers' indices (0, 2, 4, … with an activation between them, or any increasing
indices). The layer sizes come from the shapes: 2 inputs, 1 to 4 hidden layers, and 2 outputs
(softmax over the logits) or 1 output (sigmoid: p(label 1) = σ(z)).

A sigmoid output σ(z) is exactly a softmax over the logits (0, z), so a 1-output file becomes a
2-output layer whose class-0 row and bias are zero: the kernels, the loss (cross-entropy of the
label's probability) and every table are then those of any other network, and the runs row says
which output the file had.

Nothing executable is loaded: safetensors holds a JSON header and raw numbers, never a pickle. Every
defect (not a safetensors file, a renamed pickle, unknown keys, shapes that do not chain, NaN or
infinite weights) is one UserError line naming the file. Only numpy and safetensors are imported
here, so a bad file is refused before torch loads.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ingest.errors import UserError

# An MLP of at most 4 layers of 62 units holds ~12k numbers (~100 KB in float64): a file far
# larger than that is not one, and is not read into memory.
MAX_MODEL_BYTES = 16 << 20
MAX_DEPTH = 4  # hidden layers, as ingest/config.py's MAX_DEPTH
KEY = re.compile(r"(0|[1-9][0-9]*)\.(weight|bias)")
EXPECTED = "expected 0.weight, 0.bias, 2.weight, … of a torch.nn.Sequential of Linear layers"
# safetensors' dtypes Knockout reads, as little-endian numpy types; BF16 is widened by hand below.
FLOATS = {"F16": "<f2", "F32": "<f4", "F64": "<f8"}
OUTPUTS = {1: "sigmoid", 2: "softmax"}


@dataclass(frozen=True)
class ModelFile:
    sha256: str
    sizes: tuple[int, ...]  # the hidden layers' sizes, input side first
    output: str  # 'softmax' (2 outputs) or 'sigmoid' (1 output, stored as logits (0, z))
    # [(weight out × in, bias out)] float32, input side first; the last layer has 2 rows
    layers: tuple[tuple[np.ndarray, np.ndarray], ...]


_files: dict[str, ModelFile] = {}


def forget_files() -> None:
    """A new run reads its model file anew (an in-process caller's next run sees an edited file)."""
    _files.clear()


def _name(path: str) -> str:
    return Path(path).name or str(path)


def _bytes(path: str) -> bytes:
    name = _name(path)
    try:
        with open(path, "rb") as f:
            content = f.read(MAX_MODEL_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"--model {path}: no such file") from None
    except IsADirectoryError:
        raise UserError(f"--model {path}: is a folder, not a .safetensors file") from None
    except OSError as exc:
        raise UserError(f"--model {path}: cannot read it ({exc.strerror or exc})") from None
    if len(content) > MAX_MODEL_BYTES:
        raise UserError(f"{name}: larger than {MAX_MODEL_BYTES >> 20} MB, not the weights of a small MLP "
                        f"(at most {MAX_DEPTH} hidden layers)")
    return content


def _tensors(name: str, content: bytes) -> dict[str, np.ndarray]:
    """{key: array} of a safetensors file's content, or one line saying what the file is instead."""
    import safetensors
    try:
        entries = safetensors.deserialize(content)
    except Exception as exc:  # the library's SafetensorError, or whatever a malformed header raises
        # torch.save writes a zip archive (PK…) or, in its legacy format, a bare pickle (protocol 2+: 0x80)
        if content[:4] == b"PK\x03\x04" or content[:1] == b"\x80":
            raise UserError(f"{name}: a pickle (torch.save) file, not safetensors; Knockout never loads "
                            "pickles: save with safetensors.torch.save_file(model.state_dict(), path)") from None
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise UserError(f"{name}: not a safetensors file ({reason})") from None
    tensors = {}
    for key, entry in entries:
        dtype, shape, raw = entry["dtype"], tuple(entry["shape"]), bytes(entry["data"])
        if dtype == "BF16":  # bfloat16 is the top half of a float32
            values = (np.frombuffer(raw, "<u2").astype(np.uint32) << 16).view(np.float32)
        elif dtype in FLOATS:
            values = np.frombuffer(raw, FLOATS[dtype])
        else:
            raise UserError(f"{name}: tensor {key!r} has dtype {dtype}; weights must be floating point "
                            "(F16, BF16, F32 or F64)")
        tensors[key] = values.reshape(shape)
    return tensors


def _layers(name: str, tensors: dict[str, np.ndarray]) -> list[tuple[np.ndarray, np.ndarray]]:
    """The Linear layers in Sequential order, each (weight, bias), shapes checked."""
    if not tensors:
        raise UserError(f"{name}: holds no tensors ({EXPECTED})")
    indices = set()
    for key in sorted(tensors):
        match = KEY.fullmatch(key)
        if not match:
            raise UserError(f"{name}: key {key!r} is not a Sequential Linear key ({EXPECTED})")
        indices.add(int(match.group(1)))
    layers = []
    for i in sorted(indices):
        for kind in ("weight", "bias"):
            if f"{i}.{kind}" not in tensors:
                raise UserError(f"{name}: {i}.{'bias' if kind == 'bias' else 'weight'} is missing beside "
                                f"{i}.{'weight' if kind == 'bias' else 'bias'} (Linear layers with bias=True)")
        w, b = tensors[f"{i}.weight"], tensors[f"{i}.bias"]
        if w.ndim != 2 or b.ndim != 1 or b.shape[0] != w.shape[0]:
            raise UserError(f"{name}: layer {i} has weight {list(w.shape)} and bias {list(b.shape)}; a Linear "
                            "layer has weight [out, in] and bias [out]")
        if 0 in w.shape:
            raise UserError(f"{name}: layer {i} has an empty weight {list(w.shape)}")
        layers.append((i, w, b))
    for (i, w, _), (j, v, _) in zip(layers[:-1], layers[1:]):
        if v.shape[1] != w.shape[0]:
            raise UserError(f"{name}: layers do not chain: {i}.weight gives {w.shape[0]} outputs but {j}.weight "
                            f"takes {v.shape[1]} inputs")
    if layers[0][1].shape[1] != 2:
        raise UserError(f"{name}: the first layer ({layers[0][0]}.weight {list(layers[0][1].shape)}) takes "
                        f"{layers[0][1].shape[1]} inputs; Knockout's points have 2 (x0, x1)")
    outputs = layers[-1][1].shape[0]
    if outputs not in OUTPUTS:
        raise UserError(f"{name}: the last layer ({layers[-1][0]}.weight {list(layers[-1][1].shape)}) has "
                        f"{outputs} outputs; Knockout needs 2 (softmax) or 1 (sigmoid of label 1)")
    if not 1 <= len(layers) - 1 <= MAX_DEPTH:
        raise UserError(f"{name}: {len(layers)} Linear layers make {len(layers) - 1} hidden layers; Knockout "
                        f"takes 1 to {MAX_DEPTH}")
    for i, w, b in layers:
        for kind, t in (("weight", w), ("bias", b)):
            if not np.all(np.isfinite(t)):
                raise UserError(f"{name}: {i}.{kind} holds {int((~np.isfinite(t)).sum())} NaN or infinite "
                                "values")
            # float64 weights beyond float32's range would become infinite in the network
            if not np.all(np.isfinite(t.astype(np.float32))):
                raise UserError(f"{name}: {i}.{kind} holds values beyond float32's range")
    return [(w.astype(np.float32), b.astype(np.float32)) for _, w, b in layers]


def read(path: str) -> ModelFile:
    """The checked network of a .safetensors file, read once per process (every stage of a run sees
    the same weights, and its sha256 is the hash of the weights it evaluated)."""
    key = str(Path(path).resolve())
    if key not in _files:
        name = _name(path)
        content = _bytes(path)
        layers = _layers(name, _tensors(name, content))
        w, b = layers[-1]
        output = OUTPUTS[w.shape[0]]
        if output == "sigmoid":  # σ(z) = softmax(0, z)[1]: a zero row and bias for label 0
            layers[-1] = (np.concatenate([np.zeros_like(w), w]), np.concatenate([np.zeros_like(b), b]))
        sizes = tuple(int(w.shape[0]) for w, _ in layers[:-1])
        _files[key] = ModelFile(hashlib.sha256(content).hexdigest(), sizes, output, tuple(layers))
    return _files[key]


def network(config, model: ModelFile):
    """The torch network of the config's shape (ingest/network.py) holding the file's weights."""
    import torch

    from ingest import network as nw
    net = nw.make(config)
    linears = (net.hidden, net.output) if isinstance(net, nw.Network) else net.layers
    with torch.no_grad():
        for linear, (w, b) in zip(linears, model.layers, strict=True):
            linear.weight.copy_(torch.from_numpy(w))
            linear.bias.copy_(torch.from_numpy(b))
    return net
