"""The one configuration of a run: the study's defaults, overridden by a TOML file, then by flags."""
from __future__ import annotations

import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ingest.errors import UserError

LABEL_RULES = ("code", "intent")
# Masks are stored as signed 64-bit integers (Parquet INT64, DuckDB BIGINT).
MAX_HIDDEN = 62
# Above this many nodes the exhaustive table gets too big to build by accident.
MAX_EXHAUSTIVE_HIDDEN = 24


@dataclass(frozen=True)
class Config:
    hidden: int = 20  # N, hidden ReLU units: the study's network 2→20→2
    label_rule: str = "code"  # `code`: x0²+x1² > √(2/π) as the study's code tests (NOTES.md)
    train_points: int = 10_000  # what reproduces the study's loss 0.117 (NOTES.md)
    epochs: int = 20  # the study's model.fit(epochs=20)
    batch_size: int = 32  # Keras' default batch, reshuffled each epoch
    learning_rate: float = 1e-3  # Keras RMSprop default
    rho: float = 0.9  # Keras RMSprop smoothing
    epsilon: float = 1e-7  # Keras RMSprop epsilon
    train_seeds: tuple[int, ...] = (0, 1, 2, 3, 4)  # one network per seed; run 0 (seed 0) is the study's
    test_points: int = 1_000  # the study's fixed test set
    test_seed: int = 23  # the study's RandomStateHolder(seed=23)
    mask_seed: int = 17  # the study's np.random.seed(17) ("the most random number")
    samples_per_prob: int = 1_000  # the study's 1,000 masks per keep probability
    keep_probs: tuple[float, ...] = (0.25, 0.5, 0.75)  # the study's three p
    exhaustive: bool = True  # all 2^N masks: Knockout's exact answer where the study sampled
    force_exhaustive: bool = False  # allow the exhaustive table above N = 24
    flip_paths: int = 1_000  # random flip paths, as in the study's covariance figures
    path_seed: int = 29  # flip paths have their own stream (the study's code for them is lost)
    grid_size: int = 81  # points per side of the input-space grid
    grid_extent: float = 2.0  # grid covers [-extent, extent]²: the study shows [-2, 2]²
    block_masks: int = 8_192  # masks per kernel block: bounds memory whatever N
    shard_masks: int = 262_144  # masks per exhaustive file: a killed run loses at most one
    device: str = "cpu"  # where the mask kernel runs: cpu, or cuda / cuda:N when present

    def to_json(self) -> str:
        return json.dumps(dataclasses.asdict(self), sort_keys=True)


def field_names() -> list[str]:
    return [f.name for f in fields(Config)]


def _coerce(name: str, value, kind):
    """Turn a TOML or flag value into the field's type, or say clearly why not."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise UserError(f"config '{name}' must be true or false, got {value!r}")
    if kind in ("int", "float"):
        cast, word = (int, "an integer") if kind == "int" else (float, "a number")
        allowed = (int, str) if kind == "int" else (int, float, str)
        if isinstance(value, bool) or not isinstance(value, allowed):
            raise UserError(f"config '{name}' must be {word}, got {value!r}")
        try:
            return cast(value)
        except ValueError:
            raise UserError(f"config '{name}' must be {word}, got {value!r}") from None
    if kind == "ints":
        if isinstance(value, (int, str)) and not isinstance(value, bool):
            parts = [p for p in str(value).split(",") if p.strip()]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            raise UserError(f"config '{name}' must be a list of integers, got {value!r}")
        return tuple(_coerce(name, p, "int") for p in parts)
    if kind == "floats":
        if isinstance(value, str):
            parts = [p for p in value.split(",") if p.strip()]
        elif isinstance(value, (list, tuple)):
            parts = list(value)
        else:
            raise UserError(f"config '{name}' must be a list of numbers, got {value!r}")
        return tuple(_coerce(name, p, "float") for p in parts)
    if kind == "str":
        if not isinstance(value, str):
            raise UserError(f"config '{name}' must be a string, got {value!r}")
        return value
    raise AssertionError(kind)


def field_kind(name: str) -> str:
    kind = {f.name: f.type for f in fields(Config)}[name]
    return {"int": "int", "float": "float", "bool": "bool", "str": "str",
            "tuple[float, ...]": "floats", "tuple[int, ...]": "ints"}[kind]


def read_toml(path: Path) -> dict:
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise UserError(f"config file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"cannot read config file {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"invalid TOML in {path}: {exc}") from None


# Accepted for a single network: `train_seed = 3` means `train_seeds = [3]`.
ALIASES = {"train_seed": "train_seeds"}


def build(overrides: dict) -> Config:
    """Defaults, then `overrides` (TOML then flags, already merged); checked as a whole."""
    overrides = {ALIASES.get(k.replace("-", "_"), k.replace("-", "_")): v for k, v in overrides.items()}
    known = set(field_names())
    for key in overrides:
        if key.replace("-", "_") not in known:
            raise UserError(f"unknown config key '{key}' (known: {', '.join(sorted(known))})")
    values = {k.replace("-", "_"): _coerce(k, v, field_kind(k.replace("-", "_")))
              for k, v in overrides.items()}
    config = Config(**values)
    validate(config)
    return config


def validate(c: Config) -> None:
    positive = ("hidden", "train_points", "epochs", "batch_size", "test_points",
                "samples_per_prob", "flip_paths", "grid_size", "block_masks", "shard_masks")
    for name in positive:
        if getattr(c, name) <= 0:
            raise UserError(f"config '{name}' must be positive, got {getattr(c, name)}")
    for name in ("learning_rate", "epsilon", "grid_extent"):
        value = getattr(c, name)
        if not (math.isfinite(value) and value > 0):
            raise UserError(f"config '{name}' must be a positive number, got {value}")
    if not 0 <= c.rho < 1:
        raise UserError(f"config 'rho' must lie in [0, 1), got {c.rho}")
    if c.label_rule not in LABEL_RULES:
        raise UserError(f"config 'label_rule' must be one of {', '.join(LABEL_RULES)}, got {c.label_rule!r}")
    if c.device != "cpu" and not c.device.startswith("cuda"):
        raise UserError(f"config 'device' must be cpu, cuda or cuda:N, got {c.device!r}")
    if c.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise UserError(f"config 'device' = {c.device!r} but this machine has no CUDA device; use cpu")
    if not c.keep_probs:
        raise UserError("config 'keep_probs' must list at least one probability")
    for p in c.keep_probs:
        if not 0 < p < 1:
            raise UserError(f"config 'keep_probs' values must lie strictly between 0 and 1, got {p}")
    if len(set(c.keep_probs)) != len(c.keep_probs):
        raise UserError(f"config 'keep_probs' has a repeated value: {list(c.keep_probs)}")
    if c.hidden > MAX_HIDDEN:
        raise UserError(f"config 'hidden' = {c.hidden} is too large: a mask must fit a signed "
                        f"64-bit integer, so at most {MAX_HIDDEN} hidden nodes")
    if c.exhaustive and c.hidden > MAX_EXHAUSTIVE_HIDDEN and not c.force_exhaustive:
        rows = 2 ** c.hidden
        gigabytes = rows * (4 * c.hidden + 24) / 1e9
        hours = rows / 300_000 / 3600
        raise UserError(
            f"exhaustive enumeration of N = {c.hidden} nodes means {rows:,} masks "
            f"(~{gigabytes:,.0f} GB of Parquet, ~{hours:,.1f} h); pass --no-exhaustive, "
            f"or --force-exhaustive if you mean it")
    for name in ("test_seed", "mask_seed", "path_seed"):
        if getattr(c, name) < 0:
            raise UserError(f"config '{name}' must be non-negative, got {getattr(c, name)}")
    if not c.train_seeds:
        raise UserError("config 'train_seeds' must list at least one seed")
    if any(seed < 0 for seed in c.train_seeds):
        raise UserError(f"config 'train_seeds' must be non-negative, got {list(c.train_seeds)}")
    if len(set(c.train_seeds)) != len(c.train_seeds):
        raise UserError(f"config 'train_seeds' has a repeated seed: {list(c.train_seeds)}")
