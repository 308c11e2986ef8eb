"""`--model FILE.safetensors`: a network trained elsewhere, loaded (never unpickled) and evaluated.

Round trip: a network Knockout trained, exported from its stored weights to a Sequential state dict,
run again with --model: every mask table is the same to the last bit. A network trained outside
Knockout: the stored losses and gradients of all 2^N masks against torch autograd in float64 over
the test points read here from the CSV (the sigmoid case as BCE with logits on the single output,
not through the two-logit form the run uses). Every bad file or contradicting flag: one line,
exit 2, no store folder."""
from __future__ import annotations

import hashlib
import shutil
from html import unescape
from pathlib import Path

import duckdb
import numpy as np
import polars as pl
import pytest
import torch
from safetensors.torch import save_file
from torch import nn

from tests.oracle import read_points
from tests.conftest import read_table, run_cli

SMALL = ["--samples-per-prob", "20", "--flip-paths", "10", "--grid-size", "11"]
TRAIN = ["--train-points", "300", "--epochs", "2", "--train-seeds", "0"]
MASK_TABLES = {"mask_exhaustive": ["mask"], "mask_landmarks": ["mask"],
               "mask_samples": ["keep_prob", "sample_id"]}


def write_points(path: Path, seed: int, n: int) -> None:
    """A moons-like pair of classes: label 1 below the curve x1 = sin(2·x0)."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.5, 1.5, (n, 2))
    y = (np.sin(2 * x[:, 0]) > x[:, 1]).astype(int)
    path.write_text("x0,x1,label\n" + "".join(f"{float(a)!r},{float(b)!r},{c}\n" for (a, b), c in zip(x, y)))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("model")
    write_points(root / "train.csv", 1, 150)
    write_points(root / "test.csv", 2, 90)
    return root


def runs_row(store: Path) -> dict:
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    try:
        return con.execute("select * from runs where run_id = 0").pl().to_dicts()[0]
    finally:
        con.close()


def export(store: Path, path: Path) -> None:
    """The stored weights of run 0 as the state dict of nn.Sequential(Linear, act, Linear, act, …):
    Linear layer k at index 2k, rebuilt from the (tensor, row, col, value) rows."""
    rows = read_table(store, "weights")
    names = sorted(set(rows["tensor"]), key=lambda t: (t.startswith("output"), t))  # hidden.* before output.*
    layers = sorted({t.rsplit(".", 1)[0] for t in names},
                    key=lambda n: (n == "output", int(n.split(".")[1]) if n.startswith("layers.") else 0))
    state = {}
    for k, layer in enumerate(layers):
        for kind in ("weight", "bias"):
            part = rows.filter(pl.col("tensor") == f"{layer}.{kind}")
            shape = (part["row"].max() + 1, part["col"].max() + 1)
            m = np.zeros(shape, np.float32)
            m[part["row"].to_numpy(), part["col"].to_numpy()] = part["value"].to_numpy()
            state[f"{2 * k}.{kind}"] = torch.from_numpy(m if kind == "weight" else m[:, 0].copy())
    save_file(state, str(path))


def mask_table(store: Path, name: str) -> pl.DataFrame:
    keys = MASK_TABLES[name]
    return read_table(store, name).sort(keys).select([*keys, "loss", "grad"])


@pytest.mark.parametrize("hidden, shape", [("5", []), ("4,3", ["--activation", "tanh", "--mask-layers", "2"])],
                         ids=["study-shape", "deep-tanh"])
def test_round_trip_gives_identical_tables(files, tmp_path, hidden, shape):
    trained, loaded = tmp_path / "trained", tmp_path / "loaded"
    data = ["--dataset", "csv", "--train-data", str(files / "train.csv"), "--test-data", str(files / "test.csv")]
    run_cli("--store", str(trained), "--no-report", *data, "--hidden", hidden, *shape, *TRAIN, *SMALL, check=True)
    export(trained, tmp_path / "net.safetensors")
    run_cli("--store", str(loaded), "--no-report", "--model", str(tmp_path / "net.safetensors"),
            "--train-data", str(files / "train.csv"), "--test-data", str(files / "test.csv"), *shape, *SMALL, check=True)
    for name in MASK_TABLES:
        a, b = mask_table(trained, name), mask_table(loaded, name)
        assert len(a) > 0 and a.equals(b), name  # float32 loss and gradients, bit for bit
    assert read_table(trained, "points").equals(read_table(loaded, "points"))
    r, s = runs_row(trained), runs_row(loaded)
    assert (s["test_loss"], s["train_loss"], s["layer_sizes"]) == (r["test_loss"], r["train_loss"], r["layer_sizes"])
    assert r["output"] == s["output"] == "softmax" and r["model_file"] is None and s["model_file"] == "net.safetensors"
    assert s["train_seed"] is None and r["train_seed"] == 0


def oracle(net: nn.Sequential, x: np.ndarray, y: np.ndarray, masked: list[int], sigmoid: bool):
    """Loss and ∂loss/∂gate of every mask, by torch autograd in float64: gates multiply the outputs
    of the masked activation modules; the loss is BCE with logits on a single output (sigmoid) or
    cross-entropy over two logits, averaged over the points."""
    net = net.double()
    sizes = [m.out_features for m in net if isinstance(m, nn.Linear)][:-1]
    n = sum(sizes[k - 1] for k in masked)
    masks = np.arange(2 ** n)
    gates = torch.tensor((masks[:, None] >> np.arange(n)) & 1, dtype=torch.float64, requires_grad=True)
    h = torch.as_tensor(x, dtype=torch.float64).expand(len(masks), -1, -1)
    layer, at = 0, 0
    for module in net:
        h = module(h)
        if not isinstance(module, nn.Linear):  # an activation closes hidden layer `layer`
            layer += 1
            if layer in masked:
                h = h * gates[:, None, at:at + sizes[layer - 1]]
                at += sizes[layer - 1]
    target = torch.as_tensor(y, dtype=torch.float64)
    if sigmoid:
        loss = nn.functional.binary_cross_entropy_with_logits(
            h[..., 0], target.expand(len(masks), -1), reduction="none").mean(dim=1)
    else:
        loss = nn.functional.cross_entropy(h.transpose(1, 2), target.long().expand(len(masks), -1),
                                           reduction="none").mean(dim=1)
    loss.sum().backward()  # each mask's loss depends on its own gates only
    return masks, loss.detach().numpy(), gates.grad.numpy()


OUTSIDE = {
    "sigmoid-tanh": (lambda: nn.Sequential(nn.Linear(2, 5), nn.Tanh(), nn.Linear(5, 4), nn.Tanh(), nn.Linear(4, 1)),
                     ["--activation", "tanh"], [1, 2], True),
    "softmax-relu-masked-layer-1": (lambda: nn.Sequential(nn.Linear(2, 4), nn.ReLU(), nn.Linear(4, 3), nn.ReLU(),
                                                          nn.Linear(3, 2)),
                                    ["--mask-layers", "1"], [1], False),
}


def fit(net: nn.Sequential, x: np.ndarray, y: np.ndarray, sigmoid: bool) -> None:
    """A few Adam steps, nothing like Knockout's training (another optimiser, full batch)."""
    opt = torch.optim.Adam(net.parameters(), lr=0.05)
    xt, yt = torch.as_tensor(x, dtype=torch.float32), torch.as_tensor(y)
    for _ in range(60):
        out = net(xt)
        loss = (nn.functional.binary_cross_entropy_with_logits(out[:, 0], yt.float()) if sigmoid
                else nn.functional.cross_entropy(out, yt.long()))
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("case", list(OUTSIDE))
def test_network_trained_outside_matches_autograd(files, tmp_path, case):
    make, flags, masked, sigmoid = OUTSIDE[case]
    torch.manual_seed(3)
    net = make()
    fit(net, *read_points(files / "train.csv"), sigmoid)
    path = tmp_path / "outside.safetensors"
    save_file(net.state_dict(), str(path))
    store = tmp_path / "store"
    report = tmp_path / "page" / "index.html"
    run_cli("--store", str(store), "--report", str(report), "--model", str(path),
            "--test-data", str(files / "test.csv"), *flags, *SMALL, check=True)

    x, y = read_points(files / "test.csv")
    masks, loss, grad = oracle(net, x, y, masked, sigmoid)
    stored = read_table(store, "mask_exhaustive").sort("mask")
    assert stored["mask"].to_list() == masks.tolist()
    np.testing.assert_allclose(stored["loss"].to_numpy(), loss, rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(np.array(stored["grad"].to_list()), grad, rtol=1e-4, atol=2e-6)

    row = runs_row(store)
    assert row["output"] == ("sigmoid" if sigmoid else "softmax")
    assert row["model_sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert row["model_file"] == "outside.safetensors" and row["train_seed"] is None
    assert row["train_loss"] is None and row["train_data_sha256"] is None
    assert len(read_table(store, "points").filter(pl.col("split") == "train")) == 0
    assert row["test_loss"] == pytest.approx(loss[-1], rel=2e-5)  # the full network: every gate on
    text = unescape(report.read_text())
    assert "outside.safetensors" in text and "trained elsewhere" in text
    assert ("1 sigmoid output" in text) == sigmoid

    if sigmoid:  # the fingerprint is the file's content: a moved copy reuses, an edited file reloads
        moved = tmp_path / "elsewhere" / "copy.safetensors"
        moved.parent.mkdir()
        shutil.copy(path, moved)
        base = ["--store", str(store), "--no-report", "--test-data", str(files / "test.csv"), *flags, *SMALL]
        assert "train: reusing" in run_cli(*base, "--model", str(moved), check=True).stderr
        with torch.no_grad():
            net[0].bias += 0.25
        save_file(net.state_dict(), str(moved))
        proc = run_cli(*base, "--model", str(moved), check=True)
        assert "train: reusing" not in proc.stderr
        assert runs_row(store)["model_sha256"] == hashlib.sha256(moved.read_bytes()).hexdigest()


def linear_state(*shapes, bias=True) -> dict:
    """A Sequential state dict of Linear layers at 0, 2, 4, … with these (out, in) shapes."""
    torch.manual_seed(0)
    state = {}
    for k, (out, inp) in enumerate(shapes):
        state[f"{2 * k}.weight"] = torch.randn(out, inp)
        if bias:
            state[f"{2 * k}.bias"] = torch.randn(out)
    return state


def safetensors_file(state):
    return lambda path: save_file(state, str(path))


def nan_state():
    state = linear_state((4, 2), (2, 4))
    state["2.weight"][1, 3] = float("nan")
    return state


BAD_FILES = {
    "layers that do not chain": (safetensors_file(linear_state((4, 2), (2, 3))), "do not chain"),
    "3 inputs": (safetensors_file(linear_state((4, 3), (2, 4))), "takes 3 inputs"),
    "3 outputs": (safetensors_file(linear_state((4, 2), (3, 4))), "has 3 outputs"),
    "no hidden layer": (safetensors_file(linear_state((2, 2))), "0 hidden layers"),
    "5 hidden layers": (safetensors_file(linear_state((3, 2), (3, 3), (3, 3), (3, 3), (3, 3), (2, 3))),
                        "5 hidden layers"),
    "unknown key": (safetensors_file({"fc.weight": torch.zeros(4, 2), "fc.bias": torch.zeros(4)}),
                    "key 'fc.bias' is not a Sequential Linear key"),
    "a missing bias": (safetensors_file(linear_state((4, 2), (2, 4), bias=False)), "0.bias is missing"),
    "NaN weights": (safetensors_file(nan_state()), "2.weight holds 1 NaN or infinite"),
    "integer weights": (safetensors_file({"0.weight": torch.zeros(4, 2, dtype=torch.int64),
                                          "0.bias": torch.zeros(4), "2.weight": torch.zeros(2, 4),
                                          "2.bias": torch.zeros(2)}), "dtype I64"),
    "random bytes": (lambda p: p.write_bytes(np.random.default_rng(0).bytes(4096)), "not a safetensors file"),
    "text": (lambda p: p.write_text("x0,x1,label\n0.1,0.2,1\n"), "not a safetensors file"),
    "empty": (lambda p: p.write_bytes(b""), "not a safetensors file"),
    "torch.save renamed": (lambda p: torch.save(linear_state((4, 2), (2, 4)), p), "a pickle (torch.save) file"),
    "legacy torch.save renamed": (lambda p: torch.save(linear_state((4, 2), (2, 4)), p,
                                                       _use_new_zipfile_serialization=False), "a pickle"),
    "missing file": (lambda p: None, "no such file"),
}


def refused(tmp_path, *args) -> str:
    store = tmp_path / "store"
    proc = run_cli("--store", str(store), "--no-report", *args)
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == "" and proc.stderr.startswith("error: ") and proc.stderr.count("\n") == 1, proc.stderr
    assert "Traceback" not in proc.stderr and not store.exists()
    return proc.stderr


@pytest.mark.parametrize("case", list(BAD_FILES))
def test_bad_weights_file_is_one_line(files, tmp_path, case):
    write, expected = BAD_FILES[case]
    path = tmp_path / "net.safetensors"
    write(path)
    message = refused(tmp_path, "--model", str(path), "--test-data", str(files / "test.csv"))
    assert expected in message
    if case != "missing file":
        assert "net.safetensors" in message


BAD_FLAGS = {
    "no --test-data": ([], "--model needs --test-data"),
    "a disagreeing --hidden": (["--test-data", "TEST", "--hidden", "4,4"], "--hidden 4,4 disagrees"),
    "several train seeds": (["--test-data", "TEST", "--train-seeds", "0,1"], "--train-seeds does not apply"),
    "a training setting": (["--test-data", "TEST", "--epochs", "3"], "--epochs does not apply"),
    "a generated dataset": (["--test-data", "TEST", "--dataset", "xor"], "not --dataset 'xor'"),
}


@pytest.mark.parametrize("case", list(BAD_FLAGS))
def test_contradicting_flags_are_one_line(files, tmp_path, case):
    path = tmp_path / "net.safetensors"
    save_file(linear_state((4, 2), (3, 4), (2, 3)), str(path))
    args, expected = BAD_FLAGS[case]
    args = [str(files / "test.csv") if a == "TEST" else a for a in args]
    assert expected in refused(tmp_path, "--model", str(path), *args)


def test_hidden_that_agrees_is_accepted(files, tmp_path):
    """--hidden may repeat what the file says (then it is no contradiction): the config holds it."""
    from ingest import cli
    path = tmp_path / "net.safetensors"
    save_file(linear_state((4, 2), (3, 4), (2, 3)), str(path))
    config, _ = cli.parse(["--model", str(path), "--hidden", "4,3", "--test-data", str(files / "test.csv")])
    assert config.layers == (4, 3) and config.train_seeds == (0,) and config.dataset == "csv"


def test_several_seeds_from_a_config_file_are_refused_with_model(files, tmp_path):
    """Seeds from a config file are refused like the flag's (config.validate_model's own check is a
    second line that the command line never reaches)."""
    path = tmp_path / "net.safetensors"
    save_file(linear_state((4, 2), (3, 4), (2, 3)), str(path))
    toml = tmp_path / "run.toml"
    toml.write_text(f'model = "{path}"\ntest_data = "{files / "test.csv"}"\ntrain_seeds = [0, 1]\n')
    assert "--train-seeds does not apply to --model" in refused(tmp_path, "--config", str(toml))


def test_bias_like_neurons_of_a_loaded_network_are_named_on_the_page(files, tmp_path):
    """A one-layer ReLU network with two neurons active over the whole training square [-1, 1]²
    (bias − |w0| − |w1| > 0, decided here from the weights): F10's caption and the importance caption
    name them. (The suite's trained networks have no such neuron.)"""
    import re
    torch.manual_seed(5)
    net = nn.Sequential(nn.Linear(2, 5), nn.ReLU(), nn.Linear(5, 2))
    fit(net, *read_points(files / "train.csv"), False)
    with torch.no_grad():
        net[0].weight[1] = torch.tensor([0.2, -0.1])
        net[0].bias[1] = 0.5
        net[0].weight[3] = torch.tensor([0.0, 0.0])
        net[0].bias[3] = 0.25
    w, b = net[0].weight.detach().numpy(), net[0].bias.detach().numpy()
    biases = [i for i in range(5) if b[i] - abs(w[i, 0]) - abs(w[i, 1]) > 0]
    assert 1 in biases and 3 in biases
    path = tmp_path / "biased.safetensors"
    save_file(net.state_dict(), str(path))
    report = tmp_path / "page" / "index.html"
    run_cli("--store", str(tmp_path / "store"), "--report", str(report), "--model", str(path),
            "--test-data", str(files / "test.csv"), *SMALL, check=True)
    text = " ".join(re.sub(r"<[^>]+>", " ", unescape(report.read_text())).split())
    named = " and ".join([", ".join(map(str, biases[:-1])), str(biases[-1])]) if len(biases) > 1 else str(biases[0])
    assert f"Nodes {named} are active over the whole training square and act as biases" in text
    assert f"(of {len(biases)} bias-like nodes)" in text
