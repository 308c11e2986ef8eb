"""The `estimator_benchmark` table of one network: every estimator of ingest/estimators.py at every
budget and repetition, scored against the exact Shapley (or Banzhaf) values of the run's table.

The estimators are Python-bound (shapiq's and captum's bookkeeping, not the look-ups), so the
(estimator, budget, repetition) units are shared among worker processes, one per core; each unit
has its own seed, so the rows are the same however the work is split (only the timings differ).
"""
from __future__ import annotations

import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from multiprocessing import get_context

import numpy as np
import pyarrow as pa

from ingest import estimators as est

COLUMNS = ("run_id", "target", "estimator", "library", "budget", "repetition", "seed", "evaluations",
           "mae", "max_abs_error", "spearman", "top3_precision", "wall_seconds", "kernel_seconds",
           "estimate")


@dataclass(frozen=True)
class Plan:
    """What the estimators stage does, from the config: which networks, which budgets, how often."""
    on: bool
    exhaustive: bool
    runs: tuple[int, ...]
    hidden: int
    max_budget: int
    repetitions: int

    @classmethod
    def of(cls, config) -> Plan:
        return cls(config.estimators, config.exhaustive, tuple(config.estimator_runs), config.nodes,
                   config.estimator_max_budget, config.estimator_repetitions)

    def measures(self, run_id: int) -> bool:
        """Only with every mask stored: the truth the estimators are measured against."""
        return self.on and self.exhaustive and run_id in self.runs


def empty_table() -> pa.Table:
    return _table([])


def _table(rows: list[dict]) -> pa.Table:
    types = {"run_id": pa.int32(), "target": pa.string(), "estimator": pa.string(), "library": pa.string(),
             "budget": pa.int64(), "repetition": pa.int32(), "seed": pa.int64(), "evaluations": pa.int64(),
             "mae": pa.float64(), "max_abs_error": pa.float64(), "spearman": pa.float64(),
             "top3_precision": pa.float64(), "wall_seconds": pa.float64(), "kernel_seconds": pa.float64(),
             "estimate": pa.list_(pa.float64())}
    return pa.table({name: pa.array([row[name] for row in rows], types[name]) for name in COLUMNS})


def kernel_seconds_per_mask(kernel, hidden: int, masks: int = 1 << 14) -> float:
    """What one mask costs the kernel (loss and gradient, as the exhaustive stage evaluates them),
    timed on a block of masks; the best of three, so a busy moment does not count."""
    masks = min(masks, 1 << hidden)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        kernel.evaluate_range(0, masks)
        best = min(best, time.perf_counter() - start)
    return best / masks


_LOSS = None


# One thread per worker: the workers already fill the cores, and torch's and BLAS's own threads
# would fight them (the spawned workers read these when their libraries load).
ONE_THREAD = {name: "1" for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")}


def _worker_start(loss: np.ndarray) -> None:
    global _LOSS
    _LOSS = loss
    # Ctrl-C reaches the whole process group: the parent ends the run and stops the workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch
    torch.set_num_threads(1)
    est.warm_up()


def _worker_unit(unit: tuple[str, int, int]) -> tuple[np.ndarray, int, float]:
    return est.run_one(_LOSS, *unit)


def _restore(saved: dict) -> None:
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run_units(loss: np.ndarray, units: list[tuple[str, int, int]], workers: int) -> list:
    """est.run_one for every (estimator, budget, seed), in order."""
    if workers <= 1 or len(units) < 8:
        est.warm_up()
        return [est.run_one(loss, *unit) for unit in units]
    # spawn, not fork: the parent holds torch's and the kernel's threads
    pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"), initializer=_worker_start,
                               initargs=(loss,))
    saved = {name: os.environ.get(name) for name in ONE_THREAD}
    try:
        os.environ.update(ONE_THREAD)  # the workers start at the first submit, with this environment
        # largest first, so no worker is left with the one long unit at the end
        order = sorted(range(len(units)), key=lambda i: -units[i][1])
        futures = {i: pool.submit(_worker_unit, units[i]) for i in order}
        _restore(saved)
        results = [futures[i].result() for i in range(len(units))]
    except BaseException:
        # Ctrl-C, SIGTERM or a failed unit: the workers (which ignore Ctrl-C) are stopped here, not
        # left computing units nobody waits for; shutdown forgets them, so they are taken first
        _restore(saved)
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        # the pool notices its workers gone at once; waiting for that releases its queues' semaphores
        # (which would otherwise be reported as leaked when the run exits)
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    return results


def _scores(estimate: np.ndarray, exact: np.ndarray) -> dict:
    error = np.abs(estimate - exact)
    return {"mae": float(error.mean()), "max_abs_error": float(error.max()),
            "spearman": est.spearman(estimate, exact), "top3_precision": est.top_precision(estimate, exact)}


def proxy_rows(run_id: int, hidden: int, loss: np.ndarray, mean_grad: np.ndarray, grad_full: np.ndarray,
               exact: np.ndarray, per_mask: float) -> list[dict]:
    """The warehouse's cheap scores as Shapley estimates, at the masks each costs: the mean mask
    gradient over every mask (p = ½: 2^N masks), the single knockouts read as the last marginal
    contribution v(N) − v(N \\ i) (N + 1 masks), the full network's gradient (one mask)."""
    full = (1 << hidden) - 1
    knockout = loss[full] - loss[full ^ (1 << np.arange(hidden))]
    scores = {"mean_grad_exact": (mean_grad, 1 << hidden), "knockout": (knockout, hidden + 1),
              "grad_full": (grad_full, 1)}
    rows = []
    for name in est.PROXIES:
        values, cost = scores[name]
        values = np.asarray(values, np.float64)
        rows.append({"run_id": run_id, "target": "shapley", "estimator": name, "library": "warehouse",
                     "budget": cost, "repetition": 0, "seed": 0, "evaluations": cost, **_scores(values, exact),
                     "wall_seconds": 0.0, "kernel_seconds": cost * per_mask, "estimate": values.tolist()})
    return rows


def benchmark(run_id: int, loss: np.ndarray, mean_grad: np.ndarray, grad_full: np.ndarray,
              max_budget: int, repetitions: int, per_mask: float, workers: int | None = None) -> pa.Table:
    """Every estimator at budgets 2^6 … max_budget, `repetitions` times each, and the proxies."""
    loss = np.asarray(loss, np.float64)
    hidden = loss.size.bit_length() - 1
    exact = {"shapley": est.exact_shapley(loss), "banzhaf": est.exact_banzhaf(loss)}
    keys = [(e, budget, rep) for e in est.ESTIMATORS for budget in est.budgets(max_budget)
            for rep in range(repetitions)]
    seeds = [est.seed_of(run_id, e.name, budget, rep) for e, budget, rep in keys]
    results = run_units(loss, [(e.name, budget, seed) for (e, budget, _), seed in zip(keys, seeds)],
                        workers or os.cpu_count() or 1)
    rows = []
    for (e, budget, rep), seed, (estimate, evaluations, seconds) in zip(keys, seeds, results):
        rows.append({"run_id": run_id, "target": e.index, "estimator": e.name, "library": e.library,
                     "budget": budget, "repetition": rep, "seed": seed, "evaluations": evaluations,
                     **_scores(estimate, exact[e.index]), "wall_seconds": seconds,
                     "kernel_seconds": evaluations * per_mask, "estimate": estimate.tolist()})
    rows += proxy_rows(run_id, hidden, loss, mean_grad, grad_full, exact["shapley"], per_mask)
    return _table(rows)
