"""What the sections beyond the study show, read from the exact views (sql/6N, 7N, 8N) in one place.

Every query is grouped or filtered in SQL: the page gets histograms, per-node and per-size rows and
small deterministic samples, never the 2^N masks themselves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import polars as pl

from reports.warehouse import Warehouse

# The quantities of the study's F2–F4 whose exact densities are drawn beside the sampled ones.
DENSITY_QUANTITIES = ("loss", "log_loss", "grad")
# Points in the gradient-vs-knockout scatter: the N pairs through each of the first study masks.
FLIP_SCATTER_POINTS = 3000
# Subnetwork sizes drawn as heat maps (best_subnetwork_maps holds these).
MAP_SIZES = (4, 6, 8)


@dataclass
class ExactData:
    hidden: int
    histogram: pl.DataFrame  # quantity, n_on, n, mean_value
    moments: pl.DataFrame  # exact_moments of this run
    sampled_vs_exact: pl.DataFrame
    importance: pl.DataFrame
    rank_corr: pl.DataFrame
    flip_effects: pl.DataFrame
    flip_samples: pl.DataFrame
    best: pl.DataFrame
    best_maps: pl.DataFrame
    complements: pl.DataFrame
    balance_by_size: pl.DataFrame
    balance_samples: pl.DataFrame
    balance_summary: dict
    directions: pl.DataFrame
    replication: pl.DataFrame  # every run

    def probability_weights(self, keep_prob: float) -> pl.Expr:
        """p^k (1−p)^(N−k) for the masks of the n_on column: each mask's chance when nodes are kept at p."""
        return keep_prob ** pl.col("n_on") * (1 - keep_prob) ** (self.hidden - pl.col("n_on"))


def has_exhaustive(wh: Warehouse) -> bool:
    return bool(wh.run_frame("select exists(select 1 from mask_exhaustive where run_id = $run) as e")["e"][0])


def load_exact(wh: Warehouse, hidden: int) -> ExactData | None:
    """None when the store holds no exhaustive masks for this run (built with --no-exhaustive)."""
    if not has_exhaustive(wh):
        return None
    quantities = ", ".join(f"'{q}'" for q in DENSITY_QUANTITIES)
    per_sample = max(1, math.ceil(FLIP_SCATTER_POINTS / hidden))
    sizes = ", ".join(str(k) for k in MAP_SIZES)
    replication = wh.frame("select * from replication_summary order by run_id")
    # balance_summary's numbers for this run, as replication_summary carries them (one pass, not two)
    this_run = replication.filter(pl.col("run_id") == wh.run_id)
    balance = {name.removeprefix("balance_"): value for name, value in this_run.row(0, named=True).items()
               if name.startswith("balance_")} if len(this_run) else {}
    return ExactData(
        hidden=hidden,
        histogram=wh.run_frame(
            "select quantity, n_on, n, mean_value from exhaustive_histogram"
            f" where run_id = $run and quantity in ({quantities})"
        ),
        moments=wh.run_frame("select * from exact_moments where run_id = $run order by keep_prob"),
        sampled_vs_exact=wh.run_frame("select * from sampled_vs_exact where run_id = $run order by keep_prob"),
        importance=wh.run_frame("select * from importance_scores where run_id = $run order by node"),
        rank_corr=wh.run_frame("select * from importance_rank_corr where run_id = $run"),
        flip_effects=wh.run_frame("select * from flip_effects where run_id = $run order by node"),
        flip_samples=wh.run_frame(
            "select sample_id, node, n_on_off, effect, grad_off, grad_on from flip_effect_samples"
            f" where run_id = $run and sample_id < {per_sample} order by sample_id, node"
        ),
        best=wh.run_frame("select * from best_subnetworks where run_id = $run order by k"),
        best_maps=wh.run_frame(
            "select k, mask, best_loss, grid_i, grid_j, p_outside from best_subnetwork_maps"
            f" where run_id = $run and k in ({sizes}) order by k, grid_j, grid_i"
        ),
        complements=wh.run_frame("select * from complement_pairs where run_id = $run order by k nulls last"),
        balance_by_size=wh.run_frame("select * from balance_conjecture where run_id = $run order by k nulls last"),
        balance_samples=wh.run_frame(
            "select keep_prob, sample_id, n_on, n_cutters_on, imbalance, log_loss, log_loss_vs_size"
            " from balance_samples where run_id = $run and imbalance is not null"
        ),
        balance_summary=balance,
        directions=wh.run_frame("select * from node_directions where run_id = $run order by node"),
        replication=replication,
    )
