"""Deeper networks end to end: `python -m ingest.run --hidden 3,3` (relu, tanh, and layer 1 masked
alone) writes a store whose exhaustive table is the brute-force answer, whose Shapley values are the
permutation definition, whose runs row names the network, and whose page renders.

The references here are independent of ingest/deep.py: a float64 torch forward pass per mask written
in this file from the stored weights (long form, `layers.i.*`) and stored test points, with autograd
for the gradients, and Shapley values summed over all N! orders."""
from __future__ import annotations

import itertools
import math
import re

import duckdb
import numpy as np
import pytest
import torch

from tests.conftest import read_table, run_cli
from tests.test_report_browser import browser  # noqa: F401  (the fixture: one Chromium for the module)

RUN = ["--hidden", "3,3", "--train-points", "500", "--epochs", "2", "--train-seeds", "0",
       "--samples-per-prob", "20", "--flip-paths", "10", "--grid-size", "9"]
VARIANTS = {
    "relu": [],
    "tanh": ["--activation", "tanh"],
    "layer 1 masked": ["--mask-layers", "1"],
}


@pytest.fixture(scope="module", params=list(VARIANTS))
def deep_run(request, tmp_path_factory):
    root = tmp_path_factory.mktemp("deep")
    store, page = root / "store", root / "report" / "index.html"
    proc = run_cli("--store", str(store), "--report", str(page), *RUN, *VARIANTS[request.param])
    return {"name": request.param, "proc": proc, "store": store, "page": page,
            "activation": "tanh" if request.param == "tanh" else "relu",
            "mask_layers": [1] if request.param == "layer 1 masked" else [1, 2]}


def stored_layers(store) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """[(weight, bias), …] in float64 from the weights table's long form."""
    w = read_table(store, "weights")
    names = sorted(set(w["tensor"]), key=lambda t: (int(t.split(".")[1]), t))
    assert names == [f"layers.{i}.{k}" for i in range(3) for k in ("bias", "weight")]
    out = []
    for i in range(3):
        wt = w.filter(w["tensor"] == f"layers.{i}.weight")
        bt = w.filter(w["tensor"] == f"layers.{i}.bias")
        weight = torch.zeros(int(wt["row"].max()) + 1, int(wt["col"].max()) + 1, dtype=torch.float64)
        weight[wt["row"].to_numpy(), wt["col"].to_numpy()] = torch.tensor(wt["value"].to_numpy(), dtype=torch.float64)
        bias = torch.zeros(len(bt), dtype=torch.float64)
        bias[bt["row"].to_numpy()] = torch.tensor(bt["value"].to_numpy(), dtype=torch.float64)
        out.append((weight, bias))
    return out


def brute_force(layers, activation, mask_layers, x, y, mask: int):
    """Mean cross-entropy of the masked network and its gradient with respect to the N gates."""
    act = torch.relu if activation == "relu" else torch.tanh
    n = sum(layers[m - 1][0].shape[0] for m in mask_layers)
    gates = torch.tensor([float((mask >> i) & 1) for i in range(n)], dtype=torch.float64, requires_grad=True)
    h, at = x, 0
    for index, (w, b) in enumerate(layers[:-1]):
        h = act(h @ w.T + b)
        if index + 1 in mask_layers:
            h = h * gates[at:at + w.shape[0]]
            at += w.shape[0]
    logits = h @ layers[-1][0].T + layers[-1][1]
    loss = torch.nn.functional.cross_entropy(logits, y)
    loss.backward()
    return loss.item(), gates.grad.numpy()


def test_run_completes(deep_run):
    assert deep_run["proc"].returncode == 0, deep_run["proc"].stderr


def test_exhaustive_table_is_the_brute_force_answer(deep_run):
    store = deep_run["store"]
    points = read_table(store, "points").filter(read_table(store, "points")["split"] == "test").sort("point_id")
    x = torch.as_tensor(points.select("x0", "x1").to_numpy(), dtype=torch.float64)
    y = torch.as_tensor(points["label"].to_numpy().astype(np.int64))
    layers = stored_layers(store)
    table = read_table(store, "mask_exhaustive").sort("mask")
    n = 6 if deep_run["mask_layers"] == [1, 2] else 3
    assert table["mask"].to_list() == list(range(2 ** n))
    stored_grad = np.stack(table["grad"].to_numpy())
    for mask, loss in zip(table["mask"].to_list(), table["loss"].to_list()):
        want_loss, want_grad = brute_force(layers, deep_run["activation"], deep_run["mask_layers"], x, y, mask)
        assert loss == pytest.approx(want_loss, rel=2e-6, abs=1e-7), mask
        np.testing.assert_allclose(stored_grad[mask], want_grad, rtol=1e-4, atol=2e-6, err_msg=str(mask))
    # the full network's loss is the runs row's test loss
    runs = read_table(store, "runs")
    assert runs["test_loss"][0] == pytest.approx(table["loss"][2 ** n - 1], rel=1e-6)


def test_shapley_values_are_the_permutation_definition(deep_run):
    store = deep_run["store"]
    table = read_table(store, "mask_exhaustive").sort("mask")
    loss = table["loss"].to_numpy().astype(np.float64)
    n = int(math.log2(len(loss)))
    phi = np.zeros(n)
    for order in itertools.permutations(range(n)):
        mask = 0
        for node in order:
            phi[node] += loss[mask | (1 << node)] - loss[mask]
            mask |= 1 << node
    phi /= math.factorial(n)
    con = duckdb.connect(str(store / "warehouse.duckdb"), read_only=True)
    try:
        got = con.execute("select node, shapley from shapley_values where run_id = 0 order by node").fetchall()
    finally:
        con.close()
    assert [node for node, _ in got] == list(range(n))
    np.testing.assert_allclose([value for _, value in got], phi, rtol=1e-9, atol=1e-12)


def test_runs_records_the_network(deep_run):
    runs = read_table(deep_run["store"], "runs")
    assert runs["layer_sizes"].to_list() == [[3, 3]]
    assert runs["activation"].to_list() == [deep_run["activation"]]
    assert runs["mask_layers"].to_list() == [deep_run["mask_layers"]]
    assert runs["hidden"].to_list() == [3 * len(deep_run["mask_layers"])]
    # one-layer quantities are null or absent, not made up
    assert runs["logit_bias"].to_list() == [None]
    assert read_table(deep_run["store"], "test_contribs").height == 0
    grid = read_table(deep_run["store"], "input_grid")
    assert grid.height == 81 and all(len(v) == 0 for v in grid["contrib"].to_list())
    assert all(len(v) == 3 * len(deep_run["mask_layers"]) for v in grid["node_grad"].to_list())


def test_page_renders(deep_run):
    proc = deep_run["proc"]
    assert "Traceback" not in proc.stderr + proc.stdout
    html = deep_run["page"].read_text()
    text = re.sub(r"<[^>]+>", " ", re.sub(r"<script.*?</script>", " ", html, flags=re.S))
    for word in ("nan", "NaN", "None", "undefined"):
        assert not re.search(rf"\b{word}\b", text), word
    act = "ReLU" if deep_run["activation"] == "relu" else "tanh"
    assert f"2→3→3→2 {act}" in html
    # F1 carries the network (forward mode) and labels its units by layer
    assert '"mode": "forward"' in html or '"mode":"forward"' in html
    assert "L1·0" in html and ("L2·2" in html) == (deep_run["mask_layers"] == [1, 2])
    # captions that name panels ("Left:") sit under charts that have them, as on a one-layer page
    from tests import chart_specs
    assert chart_specs.panel_words_have_panels(html) >= 2
    # a deep network's masked neurons are "units" (their layer in the name), not a one-layer page's "nodes"
    assert re.search(r"Shapley top 3: units L\d·\d+, L\d·\d+ and L\d·\d+;", " ".join(text.split())), \
        "the importance caption names the top units"


def test_browser_recomputes_the_network_when_units_toggle(deep_run, browser):
    """F1 runs the stored weights forward in the page: the map is the stored grid, the live loss the
    stored loss of the mask the checkboxes make, for a unit of each layer; units read 'L1·0'."""
    from tests.test_report_browser import LoadedPage
    store = deep_run["store"]
    tab = LoadedPage(browser, deep_run["page"])
    try:
        page = tab.page
        assert tab.errors == [] and tab.requests == []
        assert [m for m in tab.console if m[0] in ("error", "warning")] == []
        grid = read_table(store, "input_grid").sort("grid_j", "grid_i")
        np.testing.assert_allclose(np.array(page.evaluate("knockoutHeatmap.pOutside()")),
                                   grid["p_outside"].to_numpy(), atol=1e-5)
        table = read_table(store, "mask_exhaustive")
        loss_of = dict(zip(table["mask"].to_list(), table["loss"].to_list()))
        n = len(deep_run["mask_layers"]) * 3
        full = 2 ** n - 1
        assert page.evaluate("knockoutHeatmap.loss") == pytest.approx(loss_of[full], rel=1e-5)
        mask = full
        for node in range(0, n, 2):  # units 0, 2 of layer 1 (and 1 of layer 2 when it is masked)
            page.locator(f'#f1-nodes input[data-node="{node}"]').click()
            mask ^= 1 << node
            page.wait_for_function(f"knockoutHeatmap.mask === '{mask}'")
            assert page.evaluate("knockoutHeatmap.loss") == pytest.approx(loss_of[mask], rel=1e-5), mask
        labels = [f"L{1 + i // 3}·{i % 3}" for i in range(0, n, 2)]
        assert page.locator("#f1-off").inner_text() == ", ".join(labels)
        page.locator("#f1-clear").click()
        page.wait_for_function("knockoutHeatmap.mask === '0'")
        assert page.evaluate("knockoutHeatmap.loss") == pytest.approx(loss_of[0], rel=1e-5)
        assert tab.errors == []
    finally:
        tab.close()


def test_a_mask_has_the_same_numbers_in_every_table(deep_run):
    """Samples, landmarks and flip paths come from the same evaluator as the exhaustive table (and the
    flip paths of the rerun below from a network rebuilt from its stored weights)."""
    store = deep_run["store"]
    exhaustive = read_table(store, "mask_exhaustive").sort("mask")
    loss = exhaustive["loss"].to_numpy()
    grad = np.stack(exhaustive["grad"].to_numpy())
    for name in ("mask_samples", "mask_landmarks", "flip_paths"):
        table = read_table(store, name)
        masks = table["mask"].to_numpy()
        np.testing.assert_array_equal(table["loss"].to_numpy(), loss[masks], err_msg=name)
        if "grad" in table.columns:
            np.testing.assert_array_equal(np.stack(table["grad"].to_numpy()), grad[masks], err_msg=name)


def test_a_rerun_rebuilds_the_network_from_its_weights(deep_run, tmp_path):
    """More flip paths: only that stage reruns, on the network read back from the weights table."""
    import shutil
    store = tmp_path / "store"
    shutil.copytree(deep_run["store"], store)
    args = [a if a != "10" else "12" for a in RUN]  # --flip-paths 12
    proc = run_cli("--store", str(store), "--no-report", *args, *VARIANTS[deep_run["name"]])
    assert proc.returncode == 0, proc.stderr
    assert "reusing 1 trained network" in proc.stderr + proc.stdout
    loss = read_table(store, "mask_exhaustive").sort("mask")["loss"].to_numpy()
    paths = read_table(store, "flip_paths")
    assert paths["path_id"].max() == 11
    np.testing.assert_array_equal(paths["loss"].to_numpy(), loss[paths["mask"].to_numpy()])


BAD_NETWORKS = [
    (["--hidden", "1,2,3,4,5"], "gives 5 hidden layers; at most 4"),
    (["--hidden", "3,0"], "'hidden' must be positive"),
    (["--hidden", "3,x"], "'hidden' must be an integer"),
    (["--hidden", "3,,3"], "'hidden' has an empty item"),
    (["--activation", "sigmoid"], "'activation' must be one of relu, tanh"),
    (["--hidden", "3,3", "--mask-layers", "3"], "'mask_layers' must name hidden layers 1 to 2"),
    (["--hidden", "3,3", "--mask-layers", "2,2"], "'mask_layers' has a repeated layer"),
    (["--hidden", "13,13"], "N = 26 masked units means 67,108,864 masks"),
]


@pytest.mark.parametrize("flags, message", BAD_NETWORKS, ids=[" ".join(f) for f, _ in BAD_NETWORKS])
def test_a_bad_network_is_one_line_and_exit_2(flags, message, tmp_path):
    proc = run_cli("--store", str(tmp_path / "store"), *flags)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], proc.stderr
    assert not (tmp_path / "store").exists()


def test_network_config_counts_masked_units_and_reads_toml(tmp_path):
    from ingest import cli
    config, _ = cli.parse(["--hidden", "13,13", "--mask-layers", "2", "--store", str(tmp_path / "s")])
    assert (config.layers, config.masked_layers, config.nodes) == ((13, 13), (2,), 13)  # under the limit
    toml = tmp_path / "c.toml"
    toml.write_text('hidden = [10, 10]\nactivation = "tanh"\nmask_layers = [1]\n')
    config, _ = cli.parse(["--config", str(toml), "--store", str(tmp_path / "s")])
    assert (config.hidden, config.activation, config.nodes, config.study_shape) == ((10, 10), "tanh", 10, False)
    toml.write_text("hidden = [20]\n")  # one layer is the study's int, so its fingerprints stay as they were
    assert cli.parse(["--config", str(toml), "--store", str(tmp_path / "s")])[0].hidden == 20
    toml.write_text('hidden = "8"\n')
    with pytest.raises(Exception, match="must be an integer or a list of integers"):
        cli.parse(["--config", str(toml), "--store", str(tmp_path / "s")])


def test_mlp_networks_train_alike_alone_and_in_lockstep():
    """train_mlp: a network's weights depend on its own seed only, not on the networks beside it."""
    from ingest import network
    from ingest.config import Config
    config = Config(hidden=(4, 3), activation="tanh", train_points=64, epochs=2, batch_size=16)
    rng = np.random.default_rng(0)
    data = [(rng.uniform(-1, 1, (64, 2)).astype(np.float32), rng.integers(0, 2, 64)) for _ in range(2)]
    both = network.train_mlp(config, data, [5, 7])
    alone = network.train_mlp(config, data[1:], [7])
    for a, b in zip(both[1].state_dict().values(), alone[0].state_dict().values()):
        assert torch.equal(a, b)
    assert not torch.equal(both[0].layers[0].weight, alone[0].layers[0].weight)


def test_interaction_caption_names_units_by_layer(deep_run):
    """The strongest synergy and redundancy pairs are named as the warehouse has them, each unit as
    'L<layer>·<unit>' (masked layers in order, 3 units each), not by its bit number."""
    con = duckdb.connect(str(deep_run["store"] / "warehouse.duckdb"), read_only=True)
    row = con.execute("select synergy_i, synergy_j, redundancy_i, redundancy_j from interaction_summary "
                      "where run_id = 0").fetchone()
    con.close()
    layers = deep_run["mask_layers"]
    label = [f"L{layer}·{unit}" for layer in layers for unit in range(3)]
    text = " ".join(re.sub(r"<[^>]+>", " ", deep_run["page"].read_text()).split())
    assert f"the strongest synergy is units {label[row[0]]} and {label[row[1]]} (" in text
    assert f"the strongest redundancy units {label[row[2]]} and {label[row[3]]} (" in text
    # the importance and gradient-vs-knockout captions name units the same way
    con = duckdb.connect(str(deep_run["store"] / "warehouse.duckdb"), read_only=True)
    top3 = con.execute("select top3_nodes from importance_summary where run_id = 0").fetchone()[0]
    least, most = con.execute("select least_misled_node, most_misled_node from flip_effect_summary "
                              "where run_id = 0").fetchone()
    con.close()
    a, b, c = (label[n] for n in top3)
    assert f"Shapley top 3: units {a}, {b} and {c};" in text
    assert re.search(rf"for unit {re.escape(label[least])} to [0-9.]+% for unit {re.escape(label[most])}\.", text)
