"""The one configuration of a run: the study's defaults, overridden by a TOML file, then by flags."""
from __future__ import annotations

import dataclasses
import json
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from ingest.errors import UserError

LABEL_RULES = ("code", "intent")
DATASETS = ("circle", "xor", "gauss", "spiral", "csv")  # ingest/datasets.py draws and reads them
# Masks are stored as signed 64-bit integers (Parquet INT64, DuckDB BIGINT).
MAX_HIDDEN = 62
# Above this many nodes the exhaustive table gets too big to build by accident.
MAX_EXHAUSTIVE_HIDDEN = 24
# --exhaustive-rows: auto keeps the per-mask rows up to ROWS_UP_TO nodes (2^22 masks, ~0.5 GB of
# Parquet) and keeps only their sums above; all is refused from ALL_ROWS_LIMIT (~9 GB) without
# --force-exhaustive.
ROWS_MODES = ("all", "none", "auto")
ROWS_UP_TO = 22
# Without per-mask rows the transforms evaluate the 2^N losses again, into memory, up to this N (16 MB
# of float32 at N = 22). At N = 24 that pass and the transforms cost ~20 s per network, which put
# the 30-network width sweep over its 5 minutes; at N = 28 they would need 2 GB of float64.
TRANSFORMS_UP_TO = 22
ALL_ROWS_LIMIT = 26


def setting(default, help: str, *, changes_only: str | None = None):
    """A config field: its default, its --help text, and for a field that changes no stored number,
    what it does change (it is then left out of every fingerprint on purpose). Every other field is
    read by some stage, which declares it in ingest/stages.py."""
    return field(default=default, metadata={"help": help, "changes_only": changes_only})


@dataclass(frozen=True)
class Config:
    # the study's network 2→20→2; "10,10" gives two hidden layers (at most MAX_DEPTH)
    hidden: int | tuple[int, ...] = setting(20, "hidden units: one number for one hidden layer (the study's "
                                                "20), or comma-separated sizes for 2 to 4 layers, e.g. 10,10")
    activation: str = setting("relu", "hidden units' activation: relu (the study's) or tanh")
    # empty: every hidden layer
    mask_layers: tuple[int, ...] = setting((), "comma-separated hidden layers (1-based) whose units the masks "
                                           "switch off, empty for all of them; N counts their units")
    # `code`: x0²+x1² > √(2/π) as the study's code tests (NOTES.md)
    label_rule: str = setting("code", "label rule: 'code' (x0²+x1² > √(2/π), the study's code) or "
                                      "'intent' (radius √(2/π))")
    # the study's circle; the others are TensorFlow Playground's, scaled (ingest/datasets.py)
    dataset: str = setting("circle", "the points: circle (the study's), xor, gauss, spiral (each drawn as "
                                     "ingest/datasets.py documents), or csv (your own: --train-data and "
                                     "--test-data); --label-rule applies to circle only")
    train_data: str = setting("", "with --dataset csv: CSV file of training points, header x0,x1,label "
                                  "(labels 0/1); its content goes into the fingerprint")
    test_data: str = setting("", "with --dataset csv: CSV file of test points, header x0,x1,label")
    # empty: Knockout trains its networks; a file: one network trained elsewhere (ingest/model_file.py)
    model: str = setting("", "a network trained elsewhere: the safetensors state dict of a torch.nn.Sequential "
                             "of Linear layers (2 inputs; 2 softmax outputs, or 1 sigmoid output for label 1), "
                             "e.g. safetensors.torch.save_file(model.state_dict(), path). Nothing is trained: "
                             "one network, run 0, evaluated on --test-data FILE.csv (required; --dataset csv "
                             "is implied, --train-data optional); --hidden comes from the file, --activation "
                             "must say which activation it used; its content goes into the fingerprint")
    # what reproduces the study's loss 0.117 (NOTES.md)
    train_points: int = setting(10_000, "training points per network (circle: uniform in [-1, 1]²; csv: "
                                       "the file's)")
    # the study's model.fit(epochs=20)
    epochs: int = setting(20, "training epochs")
    # Keras' default batch, reshuffled each epoch
    batch_size: int = setting(32, "training batch size (reshuffled each epoch)")
    # Keras RMSprop defaults
    learning_rate: float = setting(1e-3, "RMSprop learning rate")
    rho: float = setting(0.9, "RMSprop smoothing constant")
    epsilon: float = setting(1e-7, "RMSprop epsilon")
    # one network per seed; run 0 (seed 0) is the study's
    train_seeds: tuple[int, ...] = setting((0, 1, 2, 3, 4), "comma-separated seeds, one trained network "
                                           "each (training points, initial weights, batch order); "
                                           "run_id i is the i-th seed")
    # the study's fixed test set, drawn with its RandomStateHolder(seed=23)
    test_points: int = setting(1_000, "test points (circle: the study's legacy numpy stream; csv: "
                                    "the file's)")
    test_seed: int = setting(23, "seed of the test points (circle: numpy's legacy stream)")
    # the study's np.random.seed(17) ("the most random number")
    mask_seed: int = setting(17, "legacy numpy seed of the sampled masks")
    # the study's 1,000 masks per keep probability, at its three p
    samples_per_prob: int = setting(1_000, "random masks per keep probability")
    keep_probs: tuple[float, ...] = setting((0.25, 0.5, 0.75), "comma-separated keep probabilities, "
                                            "e.g. 0.25,0.5,0.75")
    # all 2^N masks: Knockout's exact answer where the study sampled
    exhaustive: bool = setting(True, "evaluate all 2^N masks")
    force_exhaustive: bool = setting(False, "allow --exhaustive above N = 24",
                                     changes_only="which sizes are accepted")
    # the auto: per-mask rows up to N = 22 (ingest/aggregate.py), only their sums above
    exhaustive_rows: str = setting("auto", "per-mask rows of the exhaustive masks: all (mask_exhaustive), "
                                   "none (only the sums the exact marts read, exhaustive_sums), or auto "
                                   "(all up to N = 22, none above)")
    # random flip paths, as in the study's covariance figures
    flip_paths: int = setting(1_000, "number of random flip paths")
    # flip paths have their own stream (the study's code for them is lost)
    path_seed: int = setting(29, "seed of the flip paths")
    # the study shows [-2, 2]²
    grid_size: int = setting(81, "grid points per side of the input-space grid")
    grid_extent: float = setting(2.0, "the grid covers [-extent, extent]²; other datasets than circle "
                                        "size it to their data unless this is given")
    # sampled Shapley against the exact values (ingest/estimators.py): minutes, so only on request
    estimators: bool = setting(False, "benchmark sampled Shapley and Banzhaf estimators (captum, shapiq, "
                               "truncated Monte Carlo) against the exact values")
    estimator_runs: tuple[int, ...] = setting((0,), "comma-separated run ids the estimators are measured on")
    # the 2^6 … 2^16 evaluations, 10 repetitions each
    estimator_max_budget: int = setting(65_536, "largest estimator budget in masks (a power of two ≥ 64); "
                                        "budgets run 64, 128, … up to it")
    estimator_repetitions: int = setting(10, "repetitions of each estimator at each budget (seeded)")
    # bounds memory whatever N
    block_masks: int = setting(8_192, "masks per kernel block",
                               changes_only="memory and speed: a mask's numbers do not depend on its block")
    # a killed run loses at most one file of work
    shard_masks: int = setting(262_144, "masks per exhaustive Parquet file; a killed run loses at most one")
    executor: str = setting("local", "where the units of work run: local (this process) or ray (Ray tasks; "
                            "pip install -e '.[ray]')", changes_only="where the work runs, not its numbers")
    ray_address: str = setting("", "with --executor ray: the Ray cluster to join (HOST:PORT, ray://HOST:PORT or "
                               "auto); empty: start a local Ray instance", changes_only="where the work runs")
    # the CPU, where the fused C loops run (native.py)
    device: str = setting("cpu", "where the mask kernel runs: cpu, or cuda / cuda:N when present",
                          changes_only="speed; off the CPU the kernel takes its torch path, whose "
                                       "float32 results can differ in the last bit")

    @property
    def layers(self) -> tuple[int, ...]:
        """The hidden layers' sizes, input side first."""
        return self.hidden if isinstance(self.hidden, tuple) else (self.hidden,)

    @property
    def keeps_rows(self) -> bool:
        """Whether the exhaustive stage writes per-mask rows (mask_exhaustive), or only their sums."""
        return self.exhaustive_rows == "all" or (self.exhaustive_rows == "auto" and self.nodes <= ROWS_UP_TO)

    @property
    def masked_layers(self) -> tuple[int, ...]:
        """The masked hidden layers, 1-based, in order."""
        return tuple(sorted(self.mask_layers)) if self.mask_layers else tuple(range(1, len(self.layers) + 1))

    @property
    def nodes(self) -> int:
        """N: the number of masked units, the bits of a mask (layer by layer)."""
        return sum(self.layers[m - 1] for m in self.masked_layers)

    @property
    def study_shape(self) -> bool:
        """One hidden layer of ReLUs: the network Knockout has always trained, stored and evaluated
        with its one-layer kernel (ingest/kernel.py). Any other network takes the general MLP
        (ingest/network.py) and the deep evaluator (ingest/deep.py)."""
        return len(self.layers) == 1 and self.activation == "relu"

    def to_json(self, seeds: bool = True) -> str:
        values = dataclasses.asdict(self)
        if not seeds:  # what networks that differ only in their seed share
            del values["train_seeds"], values["estimator_runs"]
        return json.dumps(values, sort_keys=True)


def field_names() -> list[str]:
    return [f.name for f in fields(Config)]


# Only ASCII numerals: Python's int() and float() also read other scripts' digits ("٣"), underscores
# ("1_000") and words ("nan", "inf"), none of which a config means.
INT_TEXT = re.compile(r"[+-]?[0-9]+")
FLOAT_TEXT = re.compile(r"[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?")
# A config file is a few lines; a bigger one (say /dev/zero) is a mistake, not something to read whole.
MAX_CONFIG_BYTES = 1 << 20


def shown(value) -> str:
    """A value for a one-line message: repr'd (so no raw newline or control character gets through),
    and cut short."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number(name: str, value, kind: str, from_text: bool):
    """An int or float field's value: from a flag's text, or a TOML number (never a TOML string)."""
    word = "an integer" if kind == "int" else "a number"
    if from_text:
        if not isinstance(value, str):
            raise UserError(f"config '{name}' must be {word}, got {shown(value)}")
        text = value.strip()
        if not (INT_TEXT if kind == "int" else FLOAT_TEXT).fullmatch(text):
            raise UserError(f"config '{name}' must be {word} written in ASCII digits, got {shown(value)}")
        try:
            return int(text) if kind == "int" else float(text)
        except ValueError:  # more digits than Python converts
            raise UserError(f"config '{name}' must be {word} of at most 4,300 digits, got {shown(value)}") from None
    allowed = (int,) if kind == "int" else (int, float)
    if isinstance(value, bool) or not isinstance(value, allowed):
        raise UserError(f"config '{name}' must be {word}, got {shown(value)}")
    return float(value) if kind == "float" else value


def _items(name: str, value, from_text: bool, word: str) -> list:
    if from_text:
        if not isinstance(value, str):
            raise UserError(f"config '{name}' must be a list of {word}, got {shown(value)}")
        parts = value.split(",")
        if any(not p.strip() for p in parts):
            raise UserError(f"config '{name}' has an empty item in {shown(value)}: give "
                            f"comma-separated {word}, e.g. 0,1")
        return parts
    if not isinstance(value, list):
        raise UserError(f"config '{name}' must be a list of {word}, got {shown(value)}")
    return value


def coerce(name: str, value, kind: str, from_text: bool):
    """A flag's text (`from_text`) or a TOML value as the field's type, or a one-line UserError.

    TOML values are checked against the TOML type the field needs (an integer, a number, a list of
    them, true/false, a string): a string where a number belongs is a mistake in the file."""
    if kind == "bool":
        if isinstance(value, bool):
            return value
        raise UserError(f"config '{name}' must be true or false, got {shown(value)}")
    if kind in ("int", "float"):
        return _number(name, value, kind, from_text)
    if kind in ("ints", "floats"):
        one = kind[:-1]
        word = "integers" if one == "int" else "numbers"
        return tuple(_number(name, item, one, from_text) for item in _items(name, value, from_text, word))
    if kind == "layers":  # one size stays an int (the study's config, byte for byte); several: a tuple
        if not from_text and (isinstance(value, bool) or not isinstance(value, (int, list))):
            raise UserError(f"config '{name}' must be an integer or a list of integers (one per hidden "
                            f"layer), got {shown(value)}")
        sizes = coerce(name, [value] if isinstance(value, int) and not isinstance(value, bool) else value,
                       "ints", from_text)
        return sizes[0] if len(sizes) == 1 else sizes
    if kind == "str":
        if not isinstance(value, str):
            raise UserError(f"config '{name}' must be a string, got {shown(value)}")
        return value
    raise AssertionError(kind)


def field_kind(name: str) -> str:
    kind = {f.name: f.type for f in fields(Config)}[name]
    return {"int": "int", "float": "float", "bool": "bool", "str": "str",
            "tuple[float, ...]": "floats", "tuple[int, ...]": "ints",
            "int | tuple[int, ...]": "layers"}[kind]


def read_toml(path: Path) -> dict:
    """The file's table, at most MAX_CONFIG_BYTES of UTF-8 TOML."""
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_CONFIG_BYTES + 1)
    except FileNotFoundError:
        raise UserError(f"config file not found: {shown(str(path))}") from None
    except OSError as exc:
        raise UserError(f"cannot read config file {shown(str(path))}: {exc.strerror or exc}") from None
    if len(data) > MAX_CONFIG_BYTES:
        raise UserError(f"config file {shown(str(path))} is larger than {MAX_CONFIG_BYTES // 1024} KiB: "
                        "not a config file")
    try:
        return tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError as exc:
        raise UserError(f"config file {shown(str(path))} is not UTF-8 text ({exc.reason})") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"invalid TOML in {shown(str(path))}: {str(exc).splitlines()[0]}") from None
    except RecursionError:
        raise UserError(f"invalid TOML in {shown(str(path))}: nested too deeply") from None


# Accepted for a single network: `train_seed = 3` means `train_seeds = [3]`.
ALIASES = {"train_seed": "train_seeds"}


def canonical(key: str) -> str:
    """The field a key names: `train-points` and `train_points` are one field, `train_seed` is
    `train_seeds`."""
    key = key.replace("-", "_")
    return ALIASES.get(key, key)


def from_toml(table: dict, source: str) -> dict:
    """The file's values, each checked against its field's type: {field: value}.

    Two keys that name one field (`train_seed` and `train_seeds`, `train_points` and
    `train-points`) are refused rather than letting the later one win silently."""
    known = set(field_names())
    seen: dict[str, str] = {}
    values = {}
    for key, value in table.items():
        name = canonical(key)
        if name not in known:
            raise UserError(f"unknown config key {shown(key)} in {source} (known: {', '.join(sorted(known))})")
        if name in seen:
            raise UserError(f"config keys {shown(seen[name])} and {shown(key)} in {source} both set "
                            f"'{name}': keep one")
        seen[name] = key
        if key.replace("-", "_") in ALIASES:  # the single-network form takes one integer
            values[name] = (coerce(key, value, "int", from_text=False),)
        else:
            values[name] = coerce(name, value, field_kind(name), from_text=False)
    return values


def build(values: dict) -> Config:
    """Defaults, then `values` (already typed: TOML then flags, merged, or a manifest's config,
    whose lists become tuples); checked as a whole."""
    values = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    if isinstance(values.get("hidden"), tuple) and len(values["hidden"]) == 1:
        values["hidden"] = values["hidden"][0]
    config = Config(**values)
    validate(config)
    return config


# What each seed feeds, and that generator's limit: numpy's legacy RandomState (the study's test
# points and masks) takes seeds below 2^32; the training seed goes to torch.manual_seed and into the
# runs table's BIGINT train_seed, the path seed to numpy's default_rng: both kept below 2^63.
LEGACY_SEEDS = ("test_seed", "mask_seed")
LEGACY_SEED_LIMIT = 2 ** 32
SEED_LIMIT = 2 ** 63
# The grid's points are squared for their labels and pass through the network in float32: beyond
# √(float32 max) ≈ 1.8e19 even x0² overflows. (Whether a trained network's activations stay finite
# over the grid is checked once the networks exist, before anything is written: pipeline.py.)
MAX_GRID_EXTENT = 1e18
DEVICE = re.compile(r"cpu|cuda(:[0-9]+)?")


def validate(c: Config) -> None:
    validate_network(c)
    positive = ("train_points", "epochs", "batch_size", "test_points",
                "samples_per_prob", "flip_paths", "grid_size", "block_masks", "shard_masks")
    for name in positive:
        if getattr(c, name) <= 0:
            raise UserError(f"config '{name}' must be positive, got {shown(getattr(c, name))}")
    for name in ("learning_rate", "epsilon", "grid_extent"):
        value = getattr(c, name)
        if not (math.isfinite(value) and value > 0):
            raise UserError(f"config '{name}' must be a positive number, got {value}")
    if c.grid_extent > MAX_GRID_EXTENT:
        raise UserError(f"config 'grid_extent' = {c.grid_extent:g} is too large: the grid's coordinates "
                        f"would overflow float32 once squared; at most {MAX_GRID_EXTENT:g}")
    if not 0 <= c.rho < 1:
        raise UserError(f"config 'rho' must lie in [0, 1), got {c.rho}")
    if c.label_rule not in LABEL_RULES:
        raise UserError(f"config 'label_rule' must be one of {', '.join(LABEL_RULES)}, got {shown(c.label_rule)}")
    if c.dataset not in DATASETS:
        raise UserError(f"config 'dataset' must be one of {', '.join(DATASETS)}, got {shown(c.dataset)}")
    if c.model:
        validate_model(c)
    elif c.dataset == "csv" and not (c.train_data and c.test_data):
        raise UserError("--dataset csv needs both --train-data FILE.csv and --test-data FILE.csv")
    if c.dataset != "csv" and (c.train_data or c.test_data):
        raise UserError(f"--train-data and --test-data go with --dataset csv, not {shown(c.dataset)}: "
                        "add --dataset csv")
    if not DEVICE.fullmatch(c.device):
        raise UserError(f"config 'device' must be cpu, cuda or cuda:N, got {shown(c.device)}")
    if c.device.startswith("cuda") and not c.study_shape:
        raise UserError(f"config 'device' = {shown(c.device)}: the evaluator of this network (more than one "
                        "hidden layer, tanh, or a masked layer before the last) runs on the CPU only; use cpu")
    if c.device.startswith("cuda"):
        import torch
        if not torch.cuda.is_available():
            raise UserError(f"config 'device' = {shown(c.device)} but this machine has no CUDA device; use cpu")
    from ingest import executor
    executor.check(c.executor, c.ray_address)
    if not c.keep_probs:
        raise UserError("config 'keep_probs' must list at least one probability")
    for p in c.keep_probs:
        if not 0 < p < 1:
            raise UserError(f"config 'keep_probs' values must lie strictly between 0 and 1, got {p}")
    if len(set(c.keep_probs)) != len(c.keep_probs):
        raise UserError(f"config 'keep_probs' has a repeated value: {shown(list(c.keep_probs))}")
    if c.nodes > MAX_HIDDEN:
        raise UserError(f"config 'hidden' = {shown(c.hidden)} masks {c.nodes} units, too many: a mask must fit "
                        f"a signed 64-bit integer, so at most {MAX_HIDDEN} masked units")
    if c.exhaustive_rows not in ROWS_MODES:
        raise UserError(f"config 'exhaustive_rows' must be one of {', '.join(ROWS_MODES)}, got "
                        f"{shown(c.exhaustive_rows)}")
    if c.exhaustive and c.exhaustive_rows == "all" and c.nodes >= ALL_ROWS_LIMIT and not c.force_exhaustive:
        rows = 2 ** c.nodes
        raise UserError(
            f"--exhaustive-rows all at N = {c.nodes} means {rows:,} per-mask rows (~{rows * (4 * c.nodes + 24) / 1e9:,.0f} GB "
            f"of Parquet); use --exhaustive-rows none (the exact marts from sums alone), or add "
            f"--force-exhaustive to write them anyway")
    if c.estimators and c.exhaustive and not c.keeps_rows:
        raise UserError("--estimators reads the per-mask rows: it needs --exhaustive-rows all "
                        f"(or auto with N ≤ {ROWS_UP_TO})")
    if c.exhaustive and c.nodes > MAX_EXHAUSTIVE_HIDDEN and not c.force_exhaustive:
        rows = 2 ** c.nodes
        gigabytes = rows * (4 * c.nodes + 24) / 1e9
        hours = rows / 300_000 / 3600
        raise UserError(
            f"exhaustive enumeration of N = {c.nodes} masked units means {rows:,} masks "
            f"(~{gigabytes:,.0f} GB of Parquet, ~{hours:,.1f} h); pass --no-exhaustive, "
            f"or --force-exhaustive if you mean it")
    for name in ("test_seed", "mask_seed", "path_seed"):
        value = getattr(c, name)
        limit = LEGACY_SEED_LIMIT if name in LEGACY_SEEDS else SEED_LIMIT
        if not 0 <= value < limit:
            what = "numpy's legacy RandomState" if name in LEGACY_SEEDS else "the generator"
            raise UserError(f"config '{name}' must lie in [0, 2^{limit.bit_length() - 1}) for {what}, "
                            f"got {shown(value)}")
    if not c.train_seeds:
        raise UserError("config 'train_seeds' must list at least one seed")
    if not all(0 <= seed < SEED_LIMIT for seed in c.train_seeds):
        raise UserError(f"config 'train_seeds' must lie in [0, 2^63) (torch's generator and the runs "
                        f"table's BIGINT), got {shown(list(c.train_seeds))}")
    if len(set(c.train_seeds)) != len(c.train_seeds):
        raise UserError(f"config 'train_seeds' has a repeated seed: {shown(list(c.train_seeds))}")
    validate_estimators(c)


# What a network loaded with --model does not use: nothing is trained, and the CSV fixes the points.
NOT_WITH_MODEL = ("train_seeds", "train_points", "epochs", "batch_size", "learning_rate", "rho", "epsilon")


def validate_model(c: Config) -> None:
    """--model: one network read from the file, tested on --test-data (the file's own checks and its
    layer sizes: cli.py, ingest/model_file.py)."""
    if not c.test_data:
        raise UserError("--model needs --test-data FILE.csv: the test points (header x0,x1,label) the loaded "
                        "network is evaluated on")
    if c.dataset != "csv":
        raise UserError(f"--model reads its points from CSV files, not --dataset {shown(c.dataset)}: leave "
                        "--dataset out or give --dataset csv")
    if len(c.train_seeds) != 1:
        raise UserError("--model loads one network: --train-seeds does not apply")


MAX_DEPTH = 4  # hidden layers (ingest/deep.py)
ACTIVATIONS = ("relu", "tanh")


def validate_network(c: Config) -> None:
    """The network's shape: 1 to MAX_DEPTH positive layer sizes, a known activation, masked layers
    that exist, each named once."""
    if not 1 <= len(c.layers) <= MAX_DEPTH:
        raise UserError(f"config 'hidden' gives {len(c.layers)} hidden layers; at most {MAX_DEPTH}")
    if any(size <= 0 for size in c.layers):
        raise UserError(f"config 'hidden' must be positive, got {shown(c.hidden)}")
    if any(size > MAX_HIDDEN for size in c.layers):
        raise UserError(f"config 'hidden' = {shown(c.hidden)} is too large: at most {MAX_HIDDEN} units a layer")
    if c.activation not in ACTIVATIONS:
        raise UserError(f"config 'activation' must be one of {', '.join(ACTIVATIONS)}, got {shown(c.activation)}")
    if len(set(c.mask_layers)) != len(c.mask_layers):
        raise UserError(f"config 'mask_layers' has a repeated layer: {shown(list(c.mask_layers))}")
    bad = [m for m in c.mask_layers if not 1 <= m <= len(c.layers)]
    if bad:
        raise UserError(f"config 'mask_layers' must name hidden layers 1 to {len(c.layers)}, got "
                        f"{shown(list(c.mask_layers))}")


# Beyond this many repetitions or masks per estimate the benchmark runs for hours.
MAX_ESTIMATOR_REPETITIONS = 1_000
MAX_ESTIMATOR_BUDGET = 1 << 24


def validate_estimators(c: Config) -> None:
    b = c.estimator_max_budget
    if not 64 <= b <= MAX_ESTIMATOR_BUDGET or b & (b - 1):
        raise UserError(f"config 'estimator_max_budget' must be a power of two from 64 to 2^24, got {shown(b)}")
    if not 1 <= c.estimator_repetitions <= MAX_ESTIMATOR_REPETITIONS:
        raise UserError(f"config 'estimator_repetitions' must lie in [1, {MAX_ESTIMATOR_REPETITIONS}], "
                        f"got {shown(c.estimator_repetitions)}")
    if len(set(c.estimator_runs)) != len(c.estimator_runs):
        raise UserError(f"config 'estimator_runs' has a repeated run: {shown(list(c.estimator_runs))}")
    bad = [r for r in c.estimator_runs if not 0 <= r < len(c.train_seeds)]
    if bad or not c.estimator_runs:
        raise UserError(f"config 'estimator_runs' must list run ids from 0 to {len(c.train_seeds) - 1} "
                        f"(one per train seed), got {shown(list(c.estimator_runs))}")
    if c.estimators and not c.exhaustive:
        raise UserError("--estimators measures against the exact values of all 2^N masks: it needs --exhaustive")
