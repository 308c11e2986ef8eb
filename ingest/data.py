"""A run's data: which points a network is trained and tested on, as the config's `dataset` says.

circle (the default) is the study's, drawn exactly as before (ingest/points.py): the same training
points, the same seed-23 test points, the same labels and the same fingerprints. xor, gauss and
spiral are drawn by ingest/datasets.py: training points from each network's train seed, test points
from `test_seed`. csv reads `train_data` and `test_data` (ingest/datasets.load_csv checks them).

A network loaded with --model (ingest/model_file.py) is tested on the csv dataset's test file; its
training file is optional (without it the training points are unknown: no train rows, a null train
loss).

What goes into a stage's fingerprint (`fingerprint_values`): for circle, the fields as before and
nothing about the dataset; for another dataset its name, and for csv the sha256 of each file's
content in place of its path, so an edited file retrains and a moved one does not; likewise a
--model file counts by its sha256, and the training settings it does not use are left out.

The input grid (`resolve`): for circle [-2, 2]² as before; for another dataset, unless
`grid_extent` was given, the smallest origin-centred square holding datasets.grid_extent's square
(the data's extent with a margin of 1: twice the data's half-width), its half-side rounded up to one
decimal. The grid is centred on 0 because the maps and the F1 canvas draw one axis range for both
inputs.
"""
from __future__ import annotations

import dataclasses
import hashlib
import math
from pathlib import Path

import numpy as np

from ingest import datasets, model_file, points
from ingest.config import NOT_WITH_MODEL
from ingest.errors import UserError

DATA_FIELDS = ("dataset", "train_data", "test_data")
CSV_FIELDS = ("train_data", "test_data")
# Fields a csv dataset does not read: its files fix the points.
UNUSED_WITH_CSV = ("train_points", "test_points", "test_seed")
GRID_MARGIN = 1.0

_files: dict[str, tuple[str, np.ndarray, np.ndarray]] = {}


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def forget_files() -> None:
    """A new run reads its points files anew (an in-process caller's next run sees an edited file)."""
    _files.clear()


def read_csv(path: str) -> tuple[str, np.ndarray, np.ndarray]:
    """(sha256 of the content, x, y) of a points file, read once per process: every stage of a run
    sees the same content, and its hash is the hash of the points it trained on."""
    key = str(Path(path).resolve())
    if key not in _files:
        try:
            before = _sha256(Path(path).read_bytes())
        except OSError:
            before = None  # load_csv reports it in one line
        x, y = datasets.load_csv(path)
        after = _sha256(Path(path).read_bytes())
        if before != after:
            raise UserError(f"{path}: the file changed while it was being read; run again")
        _files[key] = (after, x, y)
    return _files[key]


def boundary(config) -> dict | None:
    return datasets.true_boundary(config.dataset, config.label_rule)


def uses_label_rule(config) -> bool:
    return config.dataset == "circle"


def train_set(config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    if config.dataset == "circle":
        x = points.train_points(config, seed)
        return x, points.label(x, config.label_rule)
    if config.dataset == "csv":
        if not config.train_data:  # --model without --train-data: the network's training points are unknown
            return np.zeros((0, 2)), np.zeros(0, np.int64)
        _, x, y = read_csv(config.train_data)
        return x, y
    return datasets.generate(config.dataset, config.train_points, seed, "train")


def test_set(config) -> tuple[np.ndarray, np.ndarray]:
    if config.dataset == "circle":
        x = points.test_points(config)
        return x, points.label(x, config.label_rule)
    if config.dataset == "csv":
        _, x, y = read_csv(config.test_data)
        return x, y
    return datasets.generate(config.dataset, config.test_points, config.test_seed, "test")


def labels_at(config, x: np.ndarray) -> np.ndarray:
    """Labels of arbitrary points of the plane (the input grid): the dataset's own rule where it has
    one (circle: the label rule; xor: 1 iff x0·x1 ≥ 0), else the label of the nearest test point."""
    if config.dataset == "circle":
        return points.label(x, config.label_rule)
    if config.dataset == "xor":
        return (x[:, 0] * x[:, 1] >= 0).astype(np.int64)
    x_test, y_test = test_set(config)
    nearest = np.empty(len(x), np.int64)
    for lo in range(0, len(x), 512):  # bounded memory: 512 × n_test distances at a time
        d = ((x[lo:lo + 512, None, :] - x_test[None, :, :]) ** 2).sum(axis=2)
        nearest[lo:lo + 512] = d.argmin(axis=1)
    return y_test[nearest].astype(np.int64)


def label_source(config) -> str:
    """How labels_at labels a point, in words."""
    if config.dataset == "circle":
        return "the label rule"
    if config.dataset == "xor":
        return "1 iff x0·x1 ≥ 0"
    return "the label of the nearest test point"


def fingerprint_values(config, values: dict) -> dict:
    """A stage's fingerprint values (its declared fields) with the dataset's part made exact."""
    values = dict(values)
    if values.get("model"):  # a loaded network counts by its file's content; nothing about training does
        values["model_sha256"] = model_file.read(values.pop("model")).sha256
        for name in NOT_WITH_MODEL:
            if name != "train_seeds":  # always (0,) with --model: run 0
                values.pop(name, None)
    values.pop("model", None)  # no --model: the fingerprints of before
    if config.dataset == "circle":
        for name in DATA_FIELDS:
            values.pop(name, None)  # the study's data: the fingerprints of before
        return values
    values.pop("label_rule", None)  # only the circle has one
    if config.dataset == "csv":
        for name in CSV_FIELDS:
            if name in values:
                path = values.pop(name)
                if path:  # (--model may come without --train-data)
                    values[f"{name}_sha256"] = read_csv(path)[0]
        for name in UNUSED_WITH_CSV:
            values.pop(name, None)
    else:
        for name in CSV_FIELDS:
            values.pop(name, None)
    return values


def runs_columns(config) -> dict:
    """The runs row's description of the data: dataset, label rule and radius where they apply,
    the true boundary's kind, the CSV files' sha256."""
    import pyarrow as pa
    b = boundary(config)
    csv = config.dataset == "csv"
    rule = uses_label_rule(config)
    model = model_file.read(config.model) if config.model else None
    return {
        "dataset": pa.array([config.dataset], pa.string()),
        "label_rule": pa.array([config.label_rule if rule else None], pa.string()),
        "radius": pa.array([points.radius(config.label_rule) if rule else None], pa.float64()),
        "boundary": pa.array([b["kind"] if b else None], pa.string()),
        "train_data_sha256": pa.array([read_csv(config.train_data)[0] if csv and config.train_data else None],
                                      pa.string()),
        "test_data_sha256": pa.array([read_csv(config.test_data)[0] if csv else None], pa.string()),
        # a network loaded with --model: its file's name and content; else null (trained here)
        "model_file": pa.array([Path(config.model).name if model else None], pa.string()),
        "model_sha256": pa.array([model.sha256 if model else None], pa.string()),
        "output": pa.array([model.output if model else "softmax"], pa.string()),
    }


def auto_extent(config) -> float:
    """Half-side of the origin-centred grid square covering the data (see the module docstring)."""
    seeds = config.train_seeds[:1] if config.dataset == "csv" else config.train_seeds
    x = np.concatenate([test_set(config)[0], *(train_set(config, seed)[0] for seed in seeds)])
    box = datasets.grid_extent(x, GRID_MARGIN)
    half = max(abs(v) for v in box)
    return math.ceil(half * 10 - 1e-9) / 10


def resolve(config, explicit: set[str]):
    """The config with its data checked (a bad CSV: one line, before anything is touched) and, for
    a dataset other than circle without an explicit `grid_extent`, the grid sized to the data."""
    from ingest import config as cfg
    if "label_rule" in explicit and config.dataset != "circle":
        raise UserError(f"--label-rule applies to the circle only; --dataset {config.dataset} has its own labels: "
                        "drop --label-rule")
    if config.dataset == "csv":
        for name in CSV_FIELDS:
            if getattr(config, name):
                read_csv(getattr(config, name))
    if config.model and model_file.read(config.model).sizes != config.layers:
        raise UserError(f"{config.model}: its hidden layers are {model_file.read(config.model).sizes}, the "
                        f"config's {config.layers}")
    if config.dataset != "circle" and "grid_extent" not in explicit:
        config = dataclasses.replace(config, grid_extent=auto_extent(config))
        cfg.validate(config)
    return config
