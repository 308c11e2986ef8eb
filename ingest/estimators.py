"""Sampled Shapley and Banzhaf estimators, measured against the exact values of a run's 2^N table.

Every estimator plays the game v(S) = test loss of the subnetwork S (bit i of a mask = node i on,
the empty network keeps only the output biases), as the exact marts do. Its evaluations are look-ups
in the run's exhaustive loss table, which holds the very numbers the mask kernel computes, so an
estimator pays only its own bookkeeping; `evaluations` counts the masks it asked for, and the
kernel's cost of that many masks is measured separately (`kernel_seconds`).

The estimators (ESTIMATORS, in the order of the table):
- Captum's ShapleyValueSampling on a forward function whose input is the mask (float, baseline all
  off): one evaluation of the baseline, then N per permutation;
- shapiq's Shapley approximators: KernelSHAP, Unbiased KernelSHAP, permutation sampling, SVARM
  (shapiq's is the stratified one: by coalition size and by whether the node is in it), stratified
  sampling of marginal contributions and Owen sampling; and for Banzhaf values its regression
  (Faithful Banzhaf of order 1, which is the Banzhaf value);
- truncated Monte Carlo as in Neuron Shapley (Ghorbani & Zou, 2020), here: `tmc`;
- the cheap scores the warehouse already holds, as estimates of the Shapley value (PROXIES).
"""
from __future__ import annotations

import time
import warnings
import zlib
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ingest.masks import n_on as popcount

# Neuron Shapley stops a permutation once the running value is this close to the full network's,
# as a share of |v(all on) − v(all off)|; the rest of the permutation's contributions count as 0.
TMC_TOLERANCE = 0.01
# Budgets run 2^6 … 2^max: below 64 masks no permutation method finishes three permutations at N = 20.
MIN_BUDGET = 64
TOP_K = 3


class LossGame:
    """v(S) for boolean coalitions [B, N] (or one [N]), looked up in the run's loss table, counted."""

    def __init__(self, loss: np.ndarray):
        self.loss = np.asarray(loss, np.float64)
        self.hidden = self.loss.size.bit_length() - 1
        self.bits = np.int64(1) << np.arange(self.hidden, dtype=np.int64)
        self.evaluations = 0

    def masks(self, coalitions: np.ndarray) -> np.ndarray:
        on = np.atleast_2d(np.asarray(coalitions)) > 0.5  # float masks from captum, bools from shapiq
        return on.astype(np.int64) @ self.bits

    def __call__(self, coalitions) -> np.ndarray:
        masks = self.masks(coalitions)
        self.evaluations += len(masks)
        return self.loss[masks]


def exact_shapley(loss: np.ndarray) -> np.ndarray:
    """φ_i = Σ over masks S without i of |S|!(N−1−|S|)!/N! · (v(S ∪ i) − v(S)), by the halves of
    the table (masks without node i, and the same masks with it)."""
    loss = np.asarray(loss, np.float64)
    hidden = loss.size.bit_length() - 1
    from math import lgamma
    size_weight = np.array([np.exp(lgamma(s + 1) + lgamma(hidden - s) - lgamma(hidden + 1))
                            for s in range(hidden)])
    out = np.empty(hidden)
    for node in range(hidden):
        pairs = loss.reshape(-1, 2, 1 << node)
        off, on = pairs[:, 0, :].ravel(), pairs[:, 1, :].ravel()
        sizes = popcount(_off_masks(hidden, node))
        out[node] = np.sum(size_weight[sizes] * (on - off))
    return out


def _off_masks(hidden: int, node: int) -> np.ndarray:
    """The masks without `node`, in the order of the table's halves."""
    masks = np.arange(1 << hidden, dtype=np.int64).reshape(-1, 2, 1 << node)
    return masks[:, 0, :].ravel()


def exact_banzhaf(loss: np.ndarray) -> np.ndarray:
    """β_i = the mean over the 2^(N−1) masks without i of v(S ∪ i) − v(S)."""
    loss = np.asarray(loss, np.float64)
    hidden = loss.size.bit_length() - 1
    out = np.empty(hidden)
    for node in range(hidden):
        pairs = loss.reshape(-1, 2, 1 << node)
        out[node] = np.mean(pairs[:, 1, :] - pairs[:, 0, :])
    return out


# --- metrics -------------------------------------------------------------------------------------

def mid_ranks(values: np.ndarray) -> np.ndarray:
    """Ranks 1 … n, ties sharing the mean of their ranks."""
    values = np.asarray(values, np.float64)
    order = np.argsort(values, kind="stable")
    ranks = np.empty(len(values))
    sorted_values = values[order]
    start = 0
    while start < len(values):
        end = start
        while end + 1 < len(values) and sorted_values[end + 1] == sorted_values[start]:
            end += 1
        ranks[order[start:end + 1]] = (start + end) / 2 + 1
        start = end + 1
    return ranks


def spearman(estimate: np.ndarray, exact: np.ndarray) -> float | None:
    """Pearson correlation of the mid-ranks; None when either side is constant."""
    a, b = mid_ranks(estimate), mid_ranks(exact)
    a, b = a - a.mean(), b - b.mean()
    denominator = np.sqrt(np.sum(a * a) * np.sum(b * b))
    return None if denominator == 0 else float(np.sum(a * b) / denominator)


def top_nodes(values: np.ndarray, k: int = TOP_K) -> set[int]:
    """The k most negative values (the nodes that lower the loss most); ties to the lower node, as
    importance_summary ranks them."""
    return set(np.lexsort((np.arange(len(values)), values))[:k].tolist())


def top_precision(estimate: np.ndarray, exact: np.ndarray, k: int = TOP_K) -> float:
    k = min(k, len(exact))
    return len(top_nodes(estimate, k) & top_nodes(exact, k)) / k


# --- the estimators ------------------------------------------------------------------------------

def tmc_shapley(game: LossGame, budget: int, seed: int, tolerance: float = TMC_TOLERANCE) -> np.ndarray:
    """Truncated Monte Carlo (Neuron Shapley): random permutations, each node's marginal contribution
    as it joins; a permutation is cut once the running value lies within `tolerance` × |v(N) − v(∅)|
    of v(N), and its remaining nodes get 0. Whole permutations only, while the budget lasts (v(∅)
    and v(N) cost one evaluation each). With tolerance 0 nothing is cut: the plain permutation
    estimator, unbiased."""
    n = game.hidden
    rng = np.random.default_rng(seed)
    full_mask = np.ones((1, n), bool)
    v_empty = float(game(np.zeros((1, n), bool))[0])
    v_full = float(game(full_mask)[0])
    threshold = tolerance * abs(v_full - v_empty)
    left = budget - 2
    total = np.zeros(n)
    permutations = 0
    while left >= 1:
        batch = max(1, min(4096, left // n + 1))
        order = np.argsort(rng.random((batch, n)), axis=1)
        prefix = np.cumsum(game.bits[order], axis=1)  # the mask after each node joined
        values = game.loss[prefix]  # looked up now, counted below for the steps actually taken
        before = np.concatenate([np.full((batch, 1), v_empty), values[:, :-1]], axis=1)
        near = np.abs(before - v_full) <= threshold if tolerance > 0 else np.zeros_like(before, bool)
        # the first step whose running value (before the node joins) is already near v(N): cut there
        cut = np.where(near.any(axis=1), near.argmax(axis=1), n)
        cost = np.minimum(cut, n - 1)  # the last step of an uncut permutation is v(N), known
        fits = np.cumsum(cost) <= left
        if not fits.any():
            break
        take = int(np.argmin(fits)) if not fits.all() else batch
        steps = np.arange(n)[None, :] < cut[:take, None]
        contribution = np.where(steps, values[:take] - before[:take], 0.0)
        np.add.at(total, order[:take].ravel(), contribution.ravel())
        game.evaluations += int(cost[:take].sum())
        left -= int(cost[:take].sum())
        permutations += take
        if take < batch or not cost[:take].any():  # out of budget, or v(∅) is already near v(N)
            break
    return total / max(permutations, 1)


def captum_sampling(game: LossGame, budget: int, seed: int) -> np.ndarray:
    import torch
    from captum.attr import ShapleyValueSampling

    n = game.hidden
    bits = torch.as_tensor(game.bits)

    def forward(masks: torch.Tensor) -> torch.Tensor:
        game.evaluations += masks.shape[0]
        return torch.as_tensor(game.loss[((masks > 0.5).long() * bits).sum(dim=1).numpy()])

    with torch.random.fork_rng():  # captum draws its permutations from torch's global generator
        torch.manual_seed(seed)
        attributions = ShapleyValueSampling(forward).attribute(
            torch.ones(1, n, dtype=torch.float64), baselines=torch.zeros(1, n, dtype=torch.float64),
            n_samples=max(1, (budget - 1) // n), perturbations_per_eval=n)
    return attributions[0].numpy().astype(np.float64)


def _shapiq(make: Callable) -> Callable:
    def run(game: LossGame, budget: int, seed: int) -> np.ndarray:
        approximator = make(game.hidden, seed)
        with warnings.catch_warnings():  # shapiq warns when a budget is below what it likes
            warnings.simplefilter("ignore")
            values = approximator.approximate(budget, game)
        return np.asarray(values.get_n_order_values(1), np.float64)
    return run


def _shapiq_class(name: str, **kwargs) -> Callable:
    def make(n: int, seed: int):
        import shapiq.approximator as approximators
        return getattr(approximators, name)(n, random_state=seed, **kwargs)
    return _shapiq(make)


@dataclass(frozen=True)
class Estimator:
    name: str
    index: str  # shapley or banzhaf: what it estimates
    library: str
    run: Callable  # (game, budget, seed) -> estimate per node


ESTIMATORS = (
    Estimator("captum_shapley_sampling", "shapley", "captum", captum_sampling),
    Estimator("shapiq_kernelshap", "shapley", "shapiq", _shapiq_class("KernelSHAP")),
    Estimator("shapiq_unbiased_kernelshap", "shapley", "shapiq", _shapiq_class("UnbiasedKernelSHAP")),
    Estimator("shapiq_permutation", "shapley", "shapiq", _shapiq_class("PermutationSamplingSV")),
    Estimator("shapiq_svarm", "shapley", "shapiq", _shapiq_class("SVARM")),
    Estimator("shapiq_stratified", "shapley", "shapiq", _shapiq_class("StratifiedSamplingSV")),
    Estimator("shapiq_owen", "shapley", "shapiq", _shapiq_class("OwenSamplingSV")),
    Estimator("tmc", "shapley", "knockout", tmc_shapley),
    Estimator("shapiq_regression_banzhaf", "banzhaf", "shapiq", _shapiq_class("RegressionFBII", max_order=1)),
)
# Left out, with the reason (shapiq 1.4.1 at N = 20): SVARM for Banzhaf values (index "BV") costs 6.5 s per
# estimate at 2^16 masks, more than a minute of the benchmark's three for ten repetitions, while its
# Shapley twin is measured; SPEX needs ~90 s for one estimate of 2^10 masks even at N = 12; ProxySPEX
# needs lightgbm; kADD-SHAP estimates a 2-additive model's coefficients, not Shapley values; SHAP-IQ,
# SVARM-IQ and KernelSHAP-IQ at order 1 are Unbiased KernelSHAP, SVARM and KernelSHAP again.
BY_NAME = {e.name: e for e in ESTIMATORS}
# The warehouse's cheap scores, read as Shapley estimates (the sign of a Shapley value: negative = the
# node lowers the loss) with the masks each costs.
PROXIES = ("mean_grad_exact", "knockout", "grad_full")


def seed_of(run_id: int, estimator: str, budget: int, repetition: int) -> int:
    """A seed per (network, estimator, budget, repetition): the same rows however the work is split."""
    words = [run_id, zlib.crc32(estimator.encode()), budget, repetition]
    return int(np.random.SeedSequence(words).generate_state(1, np.uint32)[0])


def budgets(max_budget: int) -> list[int]:
    return [1 << k for k in range(MIN_BUDGET.bit_length() - 1, max_budget.bit_length())]


def warm_up() -> None:
    """Load the libraries before anything is timed: a first call must not pay for the imports."""
    import captum.attr  # noqa: F401
    import shapiq.approximator  # noqa: F401


def run_one(loss: np.ndarray, estimator: str, budget: int, seed: int) -> tuple[np.ndarray, int, float]:
    """One estimate: (values per node, evaluations used, wall seconds)."""
    game = LossGame(loss)
    start = time.perf_counter()
    estimate = BY_NAME[estimator].run(game, budget, seed)
    return estimate, game.evaluations, time.perf_counter() - start


if __name__ == "__main__":
    from ingest.estimator_cli import main
    from ingest.run import exit_with
    exit_with(main())
