"""Command-line flags for `python -m ingest.run`: one per config field, plus where to write."""
from __future__ import annotations

import argparse
from dataclasses import fields
from pathlib import Path

from ingest import config as cfg
from ingest.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 via UserError, instead of usage + traceback-free exit
        raise UserError(f"{message} (see --help)")


HELP = {
    "hidden": "hidden ReLU nodes N",
    "label_rule": "label rule: 'code' (x0²+x1² > √(2/π), the study's code) or 'intent' (radius √(2/π))",
    "train_points": "training points drawn uniformly from [-1, 1]²",
    "epochs": "training epochs",
    "batch_size": "training batch size (reshuffled each epoch)",
    "learning_rate": "RMSprop learning rate",
    "rho": "RMSprop smoothing constant",
    "epsilon": "RMSprop epsilon",
    "train_seeds": "comma-separated seeds, one trained network each (training points, initial "
                   "weights, batch order); run_id i is the i-th seed",
    "test_points": "test points (the study's legacy numpy stream)",
    "test_seed": "legacy numpy seed of the test points",
    "mask_seed": "legacy numpy seed of the sampled masks",
    "samples_per_prob": "random masks per keep probability",
    "keep_probs": "comma-separated keep probabilities, e.g. 0.25,0.5,0.75",
    "exhaustive": "evaluate all 2^N masks",
    "force_exhaustive": "allow --exhaustive above N = 24",
    "flip_paths": "number of random flip paths",
    "path_seed": "seed of the flip paths",
    "grid_size": "grid points per side of the input-space grid",
    "grid_extent": "the grid covers [-extent, extent]²",
    "block_masks": "masks per kernel block (memory bound; results do not depend on it)",
    "shard_masks": "masks per exhaustive Parquet file (a killed run loses at most one)",
    "device": "where the mask kernel runs: cpu, or cuda / cuda:N when present",
}


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m ingest.run", allow_abbrev=False,
                description="Train the study's network, evaluate masks, write the store and the warehouse.")
    p.add_argument("--config", type=Path, metavar="FILE.toml",
                   help="TOML file of config fields (overrides the defaults; flags override it)")
    p.add_argument("--store", type=Path, default=Path("store"), help="store folder (default: store)")
    p.add_argument("--report", type=Path, default=Path("reports/index.html"),
                   help="where to write the report page (default: reports/index.html)")
    p.add_argument("--no-report", action="store_true", help="do not write the report page")
    p.add_argument("--train-seed", dest="train_seed", default=None, metavar="SEED",
                   help="train a single network with this seed (same as --train-seeds SEED)")
    for f in fields(cfg.Config):
        flag = "--" + f.name.replace("_", "-")
        kind = cfg.field_kind(f.name)
        default = f.default
        shown = ",".join(str(v) for v in default) if isinstance(default, tuple) else default
        text = f"{HELP[f.name]} (default: {shown})"
        if kind == "bool":
            p.add_argument(flag, dest=f.name, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            p.add_argument(flag, dest=f.name, default=None, metavar=f.name.upper(), help=text)
    return p


def parse(argv: list[str] | None = None) -> tuple[cfg.Config, argparse.Namespace]:
    args = parser().parse_args(argv)
    overrides = dict(cfg.read_toml(args.config)) if args.config else {}
    known = set(cfg.field_names()) | set(cfg.ALIASES)
    for key in overrides:
        if key.replace("-", "_") not in known:
            raise UserError(f"unknown config key '{key}' in {args.config}")
    overrides = {cfg.ALIASES.get(k.replace("-", "_"), k.replace("-", "_")): v for k, v in overrides.items()}
    if args.train_seed is not None:
        if args.train_seeds is not None:
            raise UserError("give --train-seed or --train-seeds, not both")
        args.train_seeds = args.train_seed
    for name in cfg.field_names():
        value = getattr(args, name)
        if value is not None:
            overrides[name] = value
    return cfg.build(overrides), args
