"""The labelled 2-D point sets a network is trained and tested on: four generators and CSV files.

Every generator returns (x, y): x an n × 2 float64 array, y an n-vector of int64 labels 0/1. A set is
a function of (dataset, n, seed, split) only: training points come from the train seed and split
"train", test points from the test seed and split "test", so the two never share a stream, even when
the two seeds are equal.

circle (the study's; ingest/points.py does the drawing, unchanged)
    Points uniform in [-1, 1]². Test: numpy's legacy stream, np.random.RandomState(seed).uniform(-1,
    1, [n, 2]) (the study's seed 23). Train: np.random.default_rng([seed, 2]).uniform(-1, 1, [n, 2]).
    Label 1 iff x0² + x1² exceeds the label rule's threshold (`code`: √(2/π), about 37 % ones;
    `intent`: 2/π, about half).

The other three follow TensorFlow Playground's generators, scaled by 1/5 so that Playground's
[-5, 5]² becomes [-1, 1]², with Playground's label +1 as 1 and -1 as 0. Each draws from
np.random.default_rng([seed, SPLIT_KEY[split], DATASET_KEY[name]]), in the order written here.
`noise` is Playground's noise level (0 … 0.5; Playground's default 0).

xor
    a = U(-1, 1) for all n points, then b = U(-1, 1); each pushed 0.06 away from 0 (a += 0.06·sign(a),
    Playground's padding 0.3); then noise offsets U(-1, 1)·noise for a, then for b. Label 1 iff
    (a + offset_a)·(b + offset_b) ≥ 0 (first or third quadrant). Labels are not balanced by design:
    each is 1 with probability 1/2 (exactly, for noise 0), independently, so their count is
    Binomial(n, 1/2).
gauss
    Exactly n // 2 points of label 1 around (0.4, 0.4) and n - n // 2 of label 0 around
    (-0.4, -0.4), each coordinate normal with variance (0.5 + 7·noise)/25 (Playground's
    variance 0.5 … 4 for noise 0 … 0.5, scaled), then all rows shuffled by one permutation.
    Draws: the label-1 normals (n // 2 × 2), the label-0 normals, the permutation.
spiral
    Two arms, exactly n // 2 points of label 1 (angle offset 0) and n - n // 2 of label 0 (offset
    π). A point at position u along its arm has radius u (Playground's i/n·5, scaled) and angle
    1.75·2π·u + offset, and sits at (r·sin angle, r·cos angle) plus U(-1, 1)·noise/5 per coordinate.
    Where Playground spaces u evenly, u ~ U(0, 1) here, so that train and test sets differ.
    Draws: u for label 1, then its noise (n // 2 × 2); u for label 0, its noise; the permutation.

csv (`load_csv`): your own points, a header `x0,x1,label` and one row per point, strictly checked.
"""
from __future__ import annotations

import math
import re
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from ingest import points
from ingest.errors import UserError

GENERATED = ("circle", "xor", "gauss", "spiral")
DATASETS = (*GENERATED, "csv")  # as ingest/config.py lists them
SPLITS = ("train", "test")
SPLIT_KEY = {"train": 2, "test": 3}  # train 2, as the circle's training stream has always used
DATASET_KEY = {"xor": 1, "gauss": 2, "spiral": 3}
SCALE = 1 / 5  # Playground's [-5, 5]² onto the study's [-1, 1]²
XOR_PADDING = 0.3 * SCALE
GAUSS_CENTRE = 2 * SCALE
COLUMNS = ("x0", "x1", "label")
MAX_CSV_BYTES = 20_000_000  # ~500,000 points: far more than any exhaustive table needs
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
NOT_FINITE = re.compile(r"[+-]?(nan|inf|infinity)", re.IGNORECASE)


def _rng(name: str, seed: int, split: str) -> np.random.Generator:
    return np.random.default_rng([seed, SPLIT_KEY[split], DATASET_KEY[name]])


def circle(n: int, seed: int, split: str, label_rule: str = "code") -> tuple[np.ndarray, np.ndarray]:
    if split == "test":
        x = points.legacy_uniform(seed, n)
    else:
        x = points.train_points(SimpleNamespace(train_points=n), seed)
    return x, points.label(x, label_rule)


def xor(n: int, seed: int, split: str, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng("xor", seed, split)
    a, b = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    a += np.where(a > 0, XOR_PADDING, -XOR_PADDING)
    b += np.where(b > 0, XOR_PADDING, -XOR_PADDING)
    offset_a, offset_b = rng.uniform(-1, 1, n) * noise, rng.uniform(-1, 1, n) * noise
    y = ((a + offset_a) * (b + offset_b) >= 0).astype(np.int64)
    return np.stack([a, b], axis=1), y


def gauss(n: int, seed: int, split: str, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng("gauss", seed, split)
    std = math.sqrt(0.5 + 7 * noise) * SCALE
    ones, zeros = n // 2, n - n // 2
    x = np.concatenate([rng.normal(GAUSS_CENTRE, std, (ones, 2)), rng.normal(-GAUSS_CENTRE, std, (zeros, 2))])
    y = np.r_[np.ones(ones, np.int64), np.zeros(zeros, np.int64)]
    order = rng.permutation(n)
    return x[order], y[order]


def spiral(n: int, seed: int, split: str, noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    rng = _rng("spiral", seed, split)
    arms = []
    for count, offset in ((n // 2, 0.0), (n - n // 2, math.pi)):
        u = rng.uniform(0, 1, count)
        angle = 1.75 * 2 * math.pi * u + offset
        jitter = rng.uniform(-1, 1, (count, 2)) * noise * SCALE
        arms.append(np.stack([u * np.sin(angle), u * np.cos(angle)], axis=1) + jitter)
    x = np.concatenate(arms)
    y = np.r_[np.ones(n // 2, np.int64), np.zeros(n - n // 2, np.int64)]
    order = rng.permutation(n)
    return x[order], y[order]


def generate(name: str, n: int, seed: int, split: str, *, label_rule: str = "code",
             noise: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """n labelled points of a generated dataset; see the module docstring for how each is drawn."""
    if name not in GENERATED:
        raise UserError(f"unknown dataset {name!r}: choose one of {', '.join(GENERATED)} (or csv files)")
    if split not in SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    if n <= 0 or seed < 0:
        raise UserError(f"a dataset needs n > 0 points and a seed ≥ 0, got n = {n}, seed = {seed}")
    if not 0 <= noise <= 0.5:
        raise UserError(f"noise must lie in [0, 0.5] (Playground's range), got {noise}")
    if name == "circle":
        if noise:
            raise UserError("the study's circle has no noise setting")
        return circle(n, seed, split, label_rule)
    return {"xor": xor, "gauss": gauss, "spiral": spiral}[name](n, seed, split, noise)


def true_boundary(dataset: str, label_rule: str = "code") -> dict | None:
    """The boundary the labels are drawn from, for the maps to draw; None where there is none.

    circle: {"kind": "circle", "radius": r} centred at 0. xor: {"kind": "axes"}, the lines x0 = 0 and
    x1 = 0 (exact for noise 0). gauss: None (labels come from overlapping clouds, not from a line;
    the Bayes boundary would be x0 + x1 = 0). spiral, csv: None (draw the labelled test points).
    """
    if dataset == "circle":
        return {"kind": "circle", "radius": points.radius(label_rule)}
    if dataset == "xor":
        return {"kind": "axes"}
    if dataset in ("gauss", "spiral", "csv"):
        return None
    raise UserError(f"unknown dataset {dataset!r}: choose one of {', '.join(DATASETS)}")


def grid_extent(x: np.ndarray, margin: float = 1.0) -> tuple[float, float, float, float]:
    """A square (x0_lo, x0_hi, x1_lo, x1_hi) covering the points with a margin.

    Centred on the middle of the points' bounding box; its half-side is half the box's longer side
    times (1 + margin). The study looked at a square twice the data's (F1, [-2, 2]² around [-1, 1]²):
    margin 1 gives that, about [-2, 2]² for the circle. Points all at one spot get half-side 1 + margin.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.ndim != 2 or x.shape[1] != 2 or len(x) == 0 or not np.isfinite(x).all():
        raise ValueError("grid_extent needs a non-empty n × 2 array of finite points")
    if not margin >= 0:
        raise ValueError(f"margin must be ≥ 0, got {margin}")
    lo, hi = x.min(axis=0), x.max(axis=0)
    centre = (lo + hi) / 2
    half = float((hi - lo).max()) / 2 or 1.0
    half *= 1 + margin
    return (float(centre[0] - half), float(centre[0] + half), float(centre[1] - half), float(centre[1] + half))


def _number(text: str, where: str, column: str) -> float:
    field = text.strip()
    if NOT_FINITE.fullmatch(field):
        raise UserError(f"{where}: NaN or infinite value {field!r} in column {column}")
    if not NUMBER.fullmatch(field):
        raise UserError(f"{where}: text in a number column: {field!r} in column {column}")
    value = float(field)
    if not math.isfinite(value):  # e.g. 1e999
        raise UserError(f"{where}: infinite value {field!r} in column {column}")
    return value


def load_csv(path: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Points and labels from a CSV file: header `x0,x1,label`, then one row per point with two
    finite numbers and a label 0 or 1 (written 0, 1, 0.0 or 1.0); both classes present. Blank lines
    are skipped. Anything else is a UserError with one line naming the file and the line."""
    path = Path(path)
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise UserError(f"{path}: not a file")
        if size > MAX_CSV_BYTES:
            raise UserError(f"{path}: {size:,} bytes is over the {MAX_CSV_BYTES:,}-byte limit for a "
                            f"points file")
        text = path.read_bytes().decode("utf-8-sig")
    except FileNotFoundError:
        raise UserError(f"{path}: no such file") from None
    except UnicodeDecodeError:
        raise UserError(f"{path}: not a UTF-8 text file") from None
    except OSError as exc:
        raise UserError(f"{path}: cannot read it ({exc.strerror or exc})") from None
    lines = [(number, line) for number, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise UserError(f"{path}: the file is empty (expected a header x0,x1,label and rows)")
    (first, header), rows = lines[0], lines[1:]
    names = tuple(name.strip() for name in header.split(","))
    if len(names) != len(COLUMNS):
        raise UserError(f"{path} line {first}: expected the {len(COLUMNS)} columns x0,x1,label, "
                        f"the header has {len(names)}: {header.strip()!r}")
    if names != COLUMNS:
        raise UserError(f"{path} line {first}: the header must be x0,x1,label, got {header.strip()!r}")
    if not rows:
        raise UserError(f"{path}: only a header, no points")
    x = np.empty((len(rows), 2))
    y = np.empty(len(rows), np.int64)
    for row, (number, line) in enumerate(rows):
        where = f"{path} line {number}"
        fields = line.split(",")
        if len(fields) != len(COLUMNS):
            raise UserError(f"{where}: expected 3 columns (x0,x1,label), got {len(fields)}")
        x[row, 0] = _number(fields[0], where, "x0")
        x[row, 1] = _number(fields[1], where, "x1")
        label = _number(fields[2], where, "label")
        if label not in (0.0, 1.0):
            raise UserError(f"{where}: labels must be 0 or 1, got {fields[2].strip()!r}")
        y[row] = int(label)
    if y.min() == y.max():
        raise UserError(f"{path}: all {len(y)} points have label {y[0]}; both classes 0 and 1 are needed")
    return x, y
