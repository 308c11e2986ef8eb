"""The views behind the exact-interaction section, the decay rule of F9, the tail yardstick of F4 and the
replication table, and the balance explanation of the complement correlation — each against the same
number computed here in numpy from the stored Parquet rows by its definition (sums over subsets,
every k-set of flips, weighted masks, a least-squares fit), or, for the rule turned around, by
scanning the number of paths one by one."""
from __future__ import annotations

import itertools
import math
import types

import duckdb
import numpy as np
import polars as pl
import pytest

from ingest import catalog
from tests.conftest import SMALL_ARGS, read_table, read_view, run_cli

RUN = 0


@pytest.fixture(scope="module")
def exhaustive(small_store):
    table = read_table(small_store, "mask_exhaustive", RUN).sort("mask")
    n = int(read_table(small_store, "runs", RUN)["hidden"][0])
    masks = np.arange(2**n)
    return {
        "n": n,
        "loss": table["loss"].to_numpy().astype(np.float64),
        "log_loss": table["log_loss"].to_numpy().astype(np.float64),
        "grad": np.stack(table["grad"].to_numpy()).astype(np.float64),
        "size": np.array([bin(m).count("1") for m in masks]),
    }


@pytest.fixture(scope="module")
def bias_like(warehouse) -> dict[int, bool]:
    rows = read_view(warehouse, "node_directions")
    return dict(zip(rows["node"].to_list(), rows["bias_like"].to_list()))


# --- interactions ---------------------------------------------------------------------------------------

def interaction_index(loss: np.ndarray, n: int) -> np.ndarray:
    """Pairwise Shapley interaction index by its definition: over every set S of the other nodes,
    |S|! (n − |S| − 2)! / (n − 1)! · [v(S ∪ ij) − v(S ∪ i) − v(S ∪ j) + v(S)]."""
    out = np.zeros((n, n))
    for i, j in itertools.combinations(range(n), 2):
        others = [k for k in range(n) if k not in (i, j)]
        total = 0.0
        for size in range(len(others) + 1):
            weight = math.factorial(size) * math.factorial(n - size - 2) / math.factorial(n - 1)
            for subset in itertools.combinations(others, size):
                s = sum(1 << k for k in subset)
                total += weight * (loss[s | 1 << i | 1 << j] - loss[s | 1 << i] - loss[s | 1 << j] + loss[s])
        out[i, j] = out[j, i] = total
    return out


def spectrum_shares(values: np.ndarray, n: int) -> dict[int, float]:
    """Walsh–Fourier energy by order over the uniform masks, as shares of the variance."""
    masks = np.arange(2**n)
    parity = np.array([[(-1) ** bin(m & s).count("1") for m in masks] for s in masks], dtype=np.float64)
    coefficients = parity @ values / 2**n
    order = np.array([bin(s).count("1") for s in masks])
    energy = {k: float(np.sum(coefficients[order == k] ** 2)) for k in range(1, n + 1)}
    total = sum(energy.values())
    return {k: e / total for k, e in energy.items()}


def mobius(loss: np.ndarray, mask: int) -> float:
    """m(T) = Σ over the subsets S of T of (−1)^{|T| − |S|} v(S)."""
    nodes = [k for k in range(loss.size.bit_length()) if (mask >> k) & 1]
    total = 0.0
    for size in range(len(nodes) + 1):
        for subset in itertools.combinations(nodes, size):
            total += (-1) ** (len(nodes) - size) * loss[sum(1 << k for k in subset)]
    return total


def test_interaction_summary(warehouse, exhaustive):
    n, loss = exhaustive["n"], exhaustive["loss"]
    index = interaction_index(loss, n)
    pairs = [(index[i, j], i, j) for i, j in itertools.combinations(range(n), 2)]
    s = read_view(warehouse, "interaction_summary").row(0, named=True)
    assert s["n_pairs"] == len(pairs) and s["n_synergy_pairs"] == sum(v < 0 for v, _, _ in pairs)
    low, high = min(pairs), max(pairs, key=lambda p: (p[0], -p[1], -p[2]))
    assert (s["synergy_i"], s["synergy_j"]) == low[1:] and s["synergy_value"] == pytest.approx(low[0], abs=1e-6)
    assert (s["redundancy_i"], s["redundancy_j"]) == high[1:]
    assert s["redundancy_value"] == pytest.approx(high[0], abs=1e-6)
    for quantity in ("loss", "log_loss"):
        shares = spectrum_shares(exhaustive[quantity], n)
        assert s[f"additive_share_{quantity}"] == pytest.approx(shares[1], abs=1e-6)
        assert s[f"pairwise_share_{quantity}"] == pytest.approx(shares[2], abs=1e-6)
        assert s[f"higher_share_{quantity}"] == pytest.approx(sum(shares[k] for k in range(3, n + 1)), abs=1e-6)
    triples = [(abs(mobius(loss, sum(1 << k for k in t))), t) for t in itertools.combinations(range(n), 3)]
    top = max(triples)[1]
    assert s["top_order3_nodes"] == list(top)
    assert s["top_order3_value"] == pytest.approx(mobius(loss, sum(1 << k for k in top)), abs=1e-6)


def test_interaction_groups(warehouse, exhaustive, bias_like):
    n = exhaustive["n"]
    index = interaction_index(exhaustive["loss"], n)
    groups: dict[str, list[float]] = {}
    for i, j in itertools.combinations(range(n), 2):
        kind = ("bias-like" if bias_like[i] and bias_like[j] else "cutting" if not (bias_like[i] or bias_like[j])
                else "bias-like with cutting")
        groups.setdefault(kind, []).append(index[i, j])
    got = {r["pair_kind"]: r for r in read_view(warehouse, "interaction_groups").iter_rows(named=True)}
    assert set(got) == set(groups)
    for kind, values in groups.items():
        assert got[kind]["n_pairs"] == len(values) and got[kind]["n_synergy"] == sum(v < 0 for v in values)
        assert got[kind]["mean_value"] == pytest.approx(np.mean(values), abs=1e-7)


# --- the decay rule of F9 ----------------------------------------------------------------------------------

def exact_path_corr(log_loss: np.ndarray, n: int) -> np.ndarray:
    """corr(log loss of a uniform mask, of the mask k flips away) over every mask and every k-set of flips."""
    d = log_loss - log_loss.mean()
    masks = np.arange(2**n)
    cov = [np.mean([np.mean(d * d[masks ^ sum(1 << i for i in flips)])
                    for flips in itertools.combinations(range(n), k)]) for k in range(n + 1)]
    return np.array(cov) / cov[0]


def first_insignificant(corr, paths: int) -> int | None:
    """The first k (0 is the start itself, r = 1: with fewer than 4 paths nothing is significant) at which
    |r| < 2/√paths, as flip_path_summary reads the sampled curve."""
    return next((k for k in range(len(corr)) if abs(corr[k]) < 2 / math.sqrt(paths)), None)


def path_ranges(corr, up_to: int) -> dict[int, tuple[int, int]]:
    """For each k, the numbers of paths n ≤ up_to for which k is the first insignificant k, by scanning n."""
    found: dict[int, list[int]] = {}
    for paths in range(1, up_to + 1):
        k = first_insignificant(corr, paths)
        if k is not None:
            found.setdefault(k, []).append(paths)
    return {k: (min(v), max(v)) for k, v in found.items()}


def test_flip_path_significance_on_the_small_run(warehouse, exhaustive):
    n = exhaustive["n"]
    corr = exact_path_corr(exhaustive["log_loss"], n)
    got = read_view(warehouse, "flip_path_significance").sort("k")
    np.testing.assert_allclose(got["corr_exact"].to_numpy(), corr[1:], atol=1e-6)
    scan = path_ranges(corr, 5000)
    for row in got.iter_rows(named=True):
        if row["max_paths"] is not None and row["max_paths"] <= 5000:
            assert scan[row["k"]] == (row["min_paths"], row["max_paths"]), row
        elif row["min_paths"] is None:
            assert row["k"] not in scan
    decay = read_view(warehouse, "decay_comparison").row(0, named=True)
    assert decay["decay_length_exact"] == first_insignificant(corr, decay["n_paths"])


def run_decay_views(curve: list[float], sampled: list[float], n_paths: int, low: int, high: int) -> dict:
    """flip_path_significance and decay_comparison on a made-up curve, in a warehouse of just their inputs."""
    con = duckdb.connect()
    k = list(range(len(curve)))
    con.execute("create table flip_path_exact as select 0 as run_id, unnest($k) as k, unnest($c) as cov, "
                "unnest($c) as corr", {"k": k, "c": curve})
    con.execute("create table flip_path_decay as select 0 as run_id, unnest($k) as k, unnest($c) as cov_from_start, "
                "unnest($c) as corr_from_start", {"k": k, "c": sampled})
    decay = next((j for j in k[1:] if abs(sampled[j]) < 2 / math.sqrt(n_paths)), None)
    con.execute("create table flip_path_summary as select 0 as run_id, $n::bigint as n_paths, "
                "2 / sqrt($n) as noise_level, $d::integer as decay_length", {"n": n_paths, "d": decay})
    con.execute("create table study_reference as select * from (values ('decay_flips_low', null::double, $a::double),"
                " ('decay_flips_high', null, $b)) as t(key, keep_prob, value)", {"a": low, "b": high})
    for name in ("flip_path_significance", "decay_comparison"):
        con.execute((catalog.SQL_DIR / "views" / f"{name}.sql").read_text())
    out = con.execute("select * from decay_comparison").pl().row(0, named=True)
    out["significance"] = con.execute("select * from flip_path_significance order by k").pl()
    con.close()
    return out


def test_decay_comparison_turns_the_rule_around():
    """A curve like the study network's: what the study's 5–6 implies about its number of paths, by scanning n."""
    curve = [0.78**k for k in range(12)] + [0.02, -0.01]
    rng = np.random.default_rng(3)
    sampled = [c + 0.03 * rng.standard_normal() if k else 1.0 for k, c in enumerate(curve)]
    got = run_decay_views(curve, sampled, 1000, 5, 6)
    scan = path_ranges(curve, 20000)
    assert (got["min_paths_study_low"], got["max_paths_study_low"]) == scan[5]
    assert (got["min_paths_study_high"], got["max_paths_study_high"]) == scan[6]
    assert (got["min_paths_study"], got["max_paths_study"]) == (scan[5][0], scan[6][1])
    assert got["decay_length_exact"] == first_insignificant(curve, 1000)
    assert got["decay_length_sampled"] == first_insignificant(sampled, 1000)
    assert got["corr_exact_study_low"] == pytest.approx(curve[5])
    # the cut-offs 2/√n that give 5–6: from |r_6| to |r_4|
    assert got["cut_off_study_low"] == pytest.approx(abs(curve[6]))
    assert got["cut_off_study_high"] == pytest.approx(abs(curve[4]))
    for row in got["significance"].iter_rows(named=True):
        assert (row["k"] in scan) == (row["min_paths"] is not None)


def test_a_k_after_a_smaller_correlation_is_never_first():
    curve = [1.0, 0.5, 0.1, 0.3, 0.05]
    got = run_decay_views(curve, curve, 100, 2, 3)
    rows = {r["k"]: r for r in got["significance"].iter_rows(named=True)}
    assert rows[3]["min_paths"] is None and rows[3]["cut_off_low"] is None
    assert (rows[2]["min_paths"], rows[2]["max_paths"]) == path_ranges(curve, 2000)[2]
    assert (got["min_paths_study"], got["max_paths_study"]) == path_ranges(curve, 2000)[2]


# --- tails, one yardstick ----------------------------------------------------------------------------------

def reference(warehouse, key: str) -> float:
    return float(warehouse.execute("select value from study_reference where key = ?", [key]).fetchone()[0])


def test_the_normal_tail_share_is_the_normal_distributions(warehouse):
    sigmas = reference(warehouse, "tail_sigmas")
    assert reference(warehouse, "normal_tail_share") == pytest.approx(math.erfc(sigmas / math.sqrt(2)), rel=1e-12)


def weighted_shape(values: np.ndarray, weights: np.ndarray, sigmas: float, bin_width: float):
    w = weights / weights.sum()
    mean = np.sum(w * values)
    d = values - mean
    var = np.sum(w * d**2)
    kurt = np.sum(w * d**4) / var**2 - 3
    beyond = np.abs(d) > sigmas * np.sqrt(var)
    # the view bins values 0.002 wide and judges a bin by its mean: masks that close to the edge may go
    # either way
    edge = np.abs(np.abs(d) - sigmas * np.sqrt(var)) < bin_width
    return mean, np.sqrt(var), kurt, np.sum(w[beyond]), np.sum(w[edge])


@pytest.mark.parametrize("keep_prob", [0.25, 0.5, 0.75])
def test_exact_tails(warehouse, exhaustive, keep_prob):
    n, size = exhaustive["n"], exhaustive["size"]
    sigmas, normal = reference(warehouse, "tail_sigmas"), reference(warehouse, "normal_tail_share")
    near = reference(warehouse, "near_normal_kurtosis")
    weights = keep_prob**size * (1 - keep_prob) ** (n - size)
    got = {r["quantity"]: r for r in read_view(warehouse, "exact_tails").filter(
        (pl.col("keep_prob") - keep_prob).abs() < 1e-9).iter_rows(named=True)}
    values = {"loss": (exhaustive["loss"], weights), "log_loss": (exhaustive["log_loss"], weights),
              "grad": (exhaustive["grad"].ravel(), np.repeat(weights, n))}
    assert set(got) == set(values)
    for quantity, (v, w) in values.items():
        mean, std, kurt, share, edge = weighted_shape(v, w, sigmas, 0.002)
        row = got[quantity]
        assert row["mean"] == pytest.approx(mean, abs=1e-6) and row["std"] == pytest.approx(std, rel=1e-5)
        assert row["kurtosis"] == pytest.approx(kurt, abs=1e-4)
        assert abs(row["tail_share"] - share) <= edge + 1e-9
        if edge == 0:
            want = ("heavier" if kurt > 0 and share > normal else "lighter" if kurt < 0 and share < normal
                    else "mixed")
            assert row["tails"] == want
        assert row["near_normal"] == (abs(kurt) < near)


def direct_kde_peak(values: np.ndarray, width: float) -> float:
    x = np.linspace(values.min() - 4 * width, values.max() + 4 * width, 4000)
    dens = np.exp(-((x[:, None] - values[None, :]) ** 2) / (2 * width**2)).sum(axis=1)
    return float(dens.max() / (len(values) * width * math.sqrt(2 * math.pi)))


def test_grad_peaks(warehouse, small_store):
    samples = read_table(small_store, "mask_samples", RUN)
    width = reference(warehouse, "kernel_width")
    sigmas, normal = reference(warehouse, "tail_sigmas"), reference(warehouse, "normal_tail_share")
    got = read_view(warehouse, "grad_peaks").sort("keep_prob")
    assert got.height == 3
    for row in got.iter_rows(named=True):
        grads = np.stack(samples.filter(pl.col("keep_prob") == row["keep_prob"])["grad"].to_numpy()).astype(np.float64)
        v = grads.ravel()
        peak = direct_kde_peak(v, width)
        assert row["peak_density"] == pytest.approx(peak, rel=1e-2)  # the view samples its curve w/5 apart
        assert row["normal_peak_density"] == pytest.approx(1 / (v.std() * math.sqrt(2 * math.pi)), rel=1e-6)
        if abs(peak - row["normal_peak_density"]) > 0.01 * peak:
            assert row["more_peaked"] == (peak > row["normal_peak_density"])
        share = np.mean(np.abs(v - v.mean()) > sigmas * v.std())
        assert row["tail_share"] == pytest.approx(share, abs=1e-12)
        d = v - v.mean()
        kurt = np.mean(d**4) / np.mean(d**2) ** 2 - 3
        assert row["kurt_grad"] == pytest.approx(kurt, abs=1e-6)
        assert row["tails"] == ("heavier" if kurt > 0 and share > normal else
                                "lighter" if kurt < 0 and share < normal else "mixed")


# --- balance as the explanation of the complement correlation ------------------------------------------------

def partial_corr(y: np.ndarray, yc: np.ndarray, controls: np.ndarray) -> float:
    """corr of the residuals of y and ȳ after a least-squares fit on the controls."""
    def residual(v):
        return v - controls @ np.linalg.lstsq(controls, v, rcond=None)[0]
    return float(np.corrcoef(residual(y), residual(yc))[0, 1])


def test_complement_balance(warehouse, exhaustive, bias_like):
    n, log_loss, size = exhaustive["n"], exhaustive["log_loss"], exhaustive["size"]
    directions = read_view(warehouse, "node_directions").sort("node")
    cutters = [r for r in directions.iter_rows(named=True) if not bias_like[r["node"]]]
    masks = np.arange(2**n)

    def imbalance(m: int) -> float:
        on = [c for c in cutters if (m >> c["node"]) & 1]
        if not on:
            return math.nan
        return math.hypot(sum(c["unit_x"] for c in on), sum(c["unit_y"] for c in on)) / len(on)

    x = np.array([imbalance(m) for m in masks])
    n_cutters = np.array([sum((m >> c["node"]) & 1 for c in cutters) for m in masks])
    complement = masks ^ (2**n - 1)
    keep = ~np.isnan(x) & ~np.isnan(x[complement])
    got = {r["level"]: r for r in read_view(warehouse, "complement_balance").iter_rows(named=True)}
    for level, group in (("size", size), ("size_and_cutters", size * (n + 1) + n_cutters)):
        g = group[keep]

        def centred(v):
            v = v[keep].astype(np.float64)
            means = {k: v[g == k].mean() for k in np.unique(g)}
            return v - np.array([means[k] for k in g])

        xs, xcs, ys, ycs = centred(x), centred(x[complement]), centred(log_loss), centred(log_loss[complement])
        row = got[level]
        assert row["n_masks"] == int(keep.sum())
        assert row["corr_imbalance"] == pytest.approx(np.corrcoef(xs, xcs)[0, 1], abs=1e-6)
        assert row["corr_imbalance_log_loss"] == pytest.approx(np.corrcoef(xs, ys)[0, 1], abs=1e-6)
        assert row["corr_log_loss"] == pytest.approx(np.corrcoef(ys, ycs)[0, 1], abs=1e-6)
        partial = partial_corr(ys, ycs, np.stack([xs, xcs], axis=1))
        assert row["partial_log_loss"] == pytest.approx(partial, abs=1e-5)
        assert row["share_remaining"] == pytest.approx(partial / np.corrcoef(ys, ycs)[0, 1], abs=1e-4)


# --- the page's other readings ------------------------------------------------------------------------------

def test_expected_loss_summary_counts_log_loss_too(warehouse):
    z = read_view(warehouse, "sampled_vs_exact")["z_mean_log_loss"].to_numpy()
    s = read_view(warehouse, "expected_loss_summary").row(0, named=True)
    assert s["n_within_two_se_log_loss"] == int((np.abs(z) < 2).sum())


def test_replication_ranges_of_the_decay(warehouse):
    decay = read_view(warehouse, "decay_comparison", None)
    r = warehouse.execute("select * from replication_ranges").pl().row(0, named=True)
    assert (r["min_decay_length_exact"], r["max_decay_length_exact"]) == (
        decay["decay_length_exact"].min(), decay["decay_length_exact"].max())
    low, high = decay["min_paths_study"].max(), decay["max_paths_study"].min()
    if low is None or high is None or low > high:
        assert r["min_paths_study_every"] is None
    else:
        assert (r["min_paths_study_every"], r["max_paths_study_every"]) == (low, high)


@pytest.fixture(scope="module")
def study_sized_store(tmp_path_factory):
    """One small network with the study's 1,000 masks per p, so counts among the samples are compared."""
    store = tmp_path_factory.mktemp("study_sized")
    args = list(SMALL_ARGS)
    args[args.index("--train-seeds") + 1] = "0"
    args[args.index("--samples-per-prob") + 1] = "1000"
    run_cli("--store", str(store), *args, "--no-exhaustive", "--no-report", check=True)
    return store


def test_the_least_harmful_count_says_it_compares_unrelated_neurons(study_sized_store):
    con = duckdb.connect(str(study_sized_store / "warehouse.duckdb"), read_only=True)
    try:
        rows = con.execute("select * from study_comparison where quantity like 'times the mask%'").pl()
        study_node = con.execute("select value from study_reference where key = 'least_harmful_node'").fetchone()[0]
    finally:
        con.close()
    run = read_table(study_sized_store, "runs", 0).row(0, named=True)
    landmarks = read_table(study_sized_store, "mask_landmarks", 0)
    full, n = 2 ** run["hidden"] - 1, run["hidden"]
    loss_of = dict(zip(landmarks["mask"].to_list(), landmarks["loss"].to_list()))
    node = min(range(n), key=lambda i: (loss_of[full ^ (1 << i)], i))
    samples = read_table(study_sized_store, "mask_samples", 0)
    assert rows.height == 1
    row = rows.row(0, named=True)
    p = float(row["quantity"].split("p = ")[1].split()[0])
    assert row["ours"] == samples.filter((pl.col("keep_prob") == p) & (pl.col("mask") == full ^ (1 << node))).height
    expected = 1000 * p ** (n - 1) * (1 - p)
    assert row["note"] == (f"unrelated neurons (the study's node {int(study_node)}, this run's node {node}); any one "
                           f"such mask is expected {expected:.2f} times")


def test_f9_reads_the_study_number_as_a_number_of_paths():
    """F9's caption on a curve where some numbers of paths give the study's 5–6 (the small run has none)."""
    from reports.sections import f9
    from tests.test_page_numbers import check_decay_implied

    curve = [0.78**k for k in range(12)] + [0.02, -0.01]
    c = run_decay_views(curve, curve, 1000, 5, 6)
    s = {"n_paths": 1000, "noise_level": 2 / math.sqrt(1000), "decay_length": c["decay_length_sampled"]}
    study_run = types.SimpleNamespace(run={"dataset": "circle"}, one_layer=True)  # the study's setting
    text = f9.rule_text(study_run, s, c)
    check_decay_implied(text, c)
    assert f"the exact one at k = {c['decay_length_exact']}" in text
