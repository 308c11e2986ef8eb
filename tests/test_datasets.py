"""The dataset generators and the CSV loader: shapes, documented label balance, determinism per seed,
independent train and test streams, the circle unchanged, and one line per bad CSV file."""
from __future__ import annotations

import math
from types import SimpleNamespace

import numpy as np
import pytest

from ingest import datasets, points
from ingest.errors import UserError

N = 400


@pytest.mark.parametrize("name", datasets.GENERATED)
def test_shapes_dtypes_and_determinism(name):
    x, y = datasets.generate(name, N, seed=5, split="train")
    assert x.shape == (N, 2) and x.dtype == np.float64 and y.shape == (N,) and y.dtype == np.int64
    assert set(np.unique(y)) == {0, 1} and np.isfinite(x).all()
    again = datasets.generate(name, N, seed=5, split="train")
    assert np.array_equal(again[0], x) and np.array_equal(again[1], y)
    other = datasets.generate(name, N, seed=6, split="train")
    assert not np.array_equal(other[0], x)


@pytest.mark.parametrize("name", datasets.GENERATED)
def test_train_and_test_streams_are_independent(name):
    train, _ = datasets.generate(name, N, seed=7, split="train")
    test, _ = datasets.generate(name, N, seed=7, split="test")  # the same seed value: other stream
    assert not np.isin(test.ravel(), train.ravel()).any()
    # the test set depends on the test seed only: drawing training sets in between changes nothing
    first, _ = datasets.generate(name, N, seed=3, split="test")
    datasets.generate(name, N, seed=99, split="train")
    assert np.array_equal(datasets.generate(name, N, seed=3, split="test")[0], first)


def test_circle_is_the_study_stream_byte_for_byte():
    x, y = datasets.generate("circle", 1000, seed=23, split="test")
    legacy = np.random.RandomState(23).uniform(-1, 1, size=[1000, 2])  # the study's own call
    assert x.tobytes() == legacy.tobytes()
    assert y.tobytes() == (np.sum(legacy ** 2, axis=1) > math.sqrt(2 / math.pi)).astype(np.int64).tobytes()
    config = SimpleNamespace(test_seed=23, test_points=1000, train_points=300)
    assert x.tobytes() == points.test_points(config).tobytes()
    train, train_y = datasets.generate("circle", 300, seed=4, split="train", label_rule="intent")
    assert train.tobytes() == points.train_points(config, 4).tobytes()
    assert train_y.tobytes() == points.label(train, "intent").tobytes()


def test_xor_labels_are_the_quadrants_with_a_gap_at_the_axes():
    x, y = datasets.generate("xor", 4000, seed=1, split="test")
    assert np.array_equal(y, (np.sign(x[:, 0]) == np.sign(x[:, 1])).astype(np.int64))
    assert np.abs(x).min() >= 0.06 and np.abs(x).max() <= 1.06
    assert abs(y.mean() - 0.5) < 4 * 0.5 / math.sqrt(4000)  # Binomial(n, 1/2): within 4 sd


@pytest.mark.parametrize("n", [400, 401])
def test_gauss_and_spiral_have_exact_halves(n):
    for name in ("gauss", "spiral"):
        _, y = datasets.generate(name, n, seed=2, split="train")
        assert y.sum() == n // 2 and (y == 0).sum() == n - n // 2


def test_gauss_clouds_where_documented():
    x, y = datasets.generate("gauss", 20_000, seed=0, split="train")
    for label, centre in ((1, 0.4), (0, -0.4)):
        cloud = x[y == label]
        np.testing.assert_allclose(cloud.mean(axis=0), [centre, centre], atol=0.01)
        np.testing.assert_allclose(cloud.std(axis=0), math.sqrt(0.5) / 5, rtol=0.03)


def test_spiral_points_lie_on_their_arm():
    x, y = datasets.generate("spiral", 2000, seed=0, split="test")
    r = np.hypot(x[:, 0], x[:, 1])
    assert r.max() <= 1.0
    # angle (from the x1 axis towards x0) = 1.75·2π·r + offset, offset π for label 0
    angle = np.arctan2(x[:, 0], x[:, 1])
    want = 1.75 * 2 * np.pi * r + np.where(y == 1, 0.0, np.pi)
    gap = np.angle(np.exp(1j * (angle - want)))
    assert np.abs(gap).max() < 1e-9


def test_noise_moves_the_points_of_new_datasets():
    clean, _ = datasets.generate("spiral", 200, seed=0, split="train")
    noisy, _ = datasets.generate("spiral", 200, seed=0, split="train", noise=0.3)
    assert not np.array_equal(clean, noisy)


@pytest.mark.parametrize("kwargs", [{"name": "moons"}, {"n": 0}, {"seed": -1}, {"noise": 0.7},
                                    {"name": "circle", "noise": 0.1}])
def test_bad_generator_requests(kwargs):
    args = {"name": "xor", "n": 10, "seed": 0, "split": "train", **kwargs}
    with pytest.raises(UserError):
        datasets.generate(args.pop("name"), **args)


def test_true_boundaries():
    assert datasets.true_boundary("circle") == {"kind": "circle", "radius": points.radius("code")}
    assert datasets.true_boundary("circle", "intent")["radius"] == pytest.approx(math.sqrt(2 / math.pi))
    assert datasets.true_boundary("xor") == {"kind": "axes"}
    assert all(datasets.true_boundary(name) is None for name in ("gauss", "spiral", "csv"))
    with pytest.raises(UserError):
        datasets.true_boundary("moons")


def test_grid_extent_covers_the_data_with_its_margin():
    x = np.array([[-1.0, 0.0], [3.0, 0.5], [0.0, 1.0]])
    x0_lo, x0_hi, x1_lo, x1_hi = datasets.grid_extent(x, margin=0.5)
    assert (x0_hi - x0_lo) == pytest.approx(6.0) and (x1_hi - x1_lo) == pytest.approx(6.0)  # square
    assert (x0_lo + x0_hi) / 2 == pytest.approx(1.0) and (x1_lo + x1_hi) / 2 == pytest.approx(0.5)
    assert x0_lo <= x[:, 0].min() and x0_hi >= x[:, 0].max() and x1_lo <= x[:, 1].min() and x1_hi >= x[:, 1].max()
    circle, _ = datasets.generate("circle", 1000, seed=23, split="test")
    assert np.allclose(datasets.grid_extent(circle), (-2, 2, -2, 2), atol=0.01)
    assert datasets.grid_extent(np.array([[0.5, 0.5]]), margin=0.0) == (-0.5, 1.5, -0.5, 1.5)
    for bad in (np.zeros((0, 2)), np.array([[np.nan, 0.0]]), np.zeros((3, 3))):
        with pytest.raises(ValueError):
            datasets.grid_extent(bad)


# -- CSV files ----------------------------------------------------------------------------------------
def write(tmp_path, text: str | bytes, name="points.csv"):
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return path


def test_a_good_csv_round_trips(tmp_path):
    x = np.array([[0.25, -1.5], [1e-3, 2.0], [-0.75, 3e2]])
    y = np.array([1, 0, 1])
    rows = "".join(f"{float(a)!r}, {float(b)!r} ,{label}\n" for (a, b), label in zip(x, y))
    got_x, got_y = datasets.load_csv(write(tmp_path, "\ufeffx0,x1,label\n" + rows + "\n"))
    assert np.array_equal(got_x, x) and np.array_equal(got_y, y) and got_y.dtype == np.int64
    got_x, got_y = datasets.load_csv(write(tmp_path, "x0,x1,label\r\n1,2,1.0\r\n3,4,0.0\r\n"))
    assert got_x.tolist() == [[1, 2], [3, 4]] and got_y.tolist() == [1, 0]


BAD = {
    "missing column": ("x0,x1,label\n0.1,0.2\n", "expected 3 columns"),
    "extra column": ("x0,x1,label\n0.1,0.2,1,7\n", "expected 3 columns"),
    "header missing a column": ("x0,x1\n0.1,0.2\n", "header has 2"),
    "header with an extra column": ("x0,x1,label,weight\n0.1,0.2,1,1\n", "header has 4"),
    "wrong header names": ("a,b,c\n0.1,0.2,1\n", "header must be x0,x1,label"),
    "no header": ("0.1,0.2,1\n0.3,0.4,0\n", "header must be x0,x1,label"),
    "text in x0": ("x0,x1,label\n0.1,0.2,1\nabc,0.2,0\n", "text in a number column: 'abc' in column x0"),
    "text in label": ("x0,x1,label\n0.1,0.2,yes\n", "text in a number column: 'yes' in column label"),
    "underscore number": ("x0,x1,label\n1_0,0.2,1\n", "text in a number column"),
    "empty field": ("x0,x1,label\n,0.2,1\n", "text in a number column"),
    "nan": ("x0,x1,label\n0.1,NaN,1\n0.2,0.3,0\n", "NaN or infinite value 'NaN' in column x1"),
    "inf": ("x0,x1,label\n-inf,0.1,1\n0.2,0.3,0\n", "NaN or infinite value '-inf' in column x0"),
    "overflowing number": ("x0,x1,label\n1e999,0.1,1\n0.2,0.3,0\n", "infinite value '1e999'"),
    "label 2": ("x0,x1,label\n0.1,0.2,2\n0.3,0.4,0\n", "labels must be 0 or 1, got '2'"),
    "label -1": ("x0,x1,label\n0.1,0.2,-1\n0.3,0.4,1\n", "labels must be 0 or 1, got '-1'"),
    "label 0.5": ("x0,x1,label\n0.1,0.2,0.5\n0.3,0.4,1\n", "labels must be 0 or 1"),
    "empty file": ("", "the file is empty"),
    "blank lines only": ("\n \n\n", "the file is empty"),
    "header only": ("x0,x1,label\n", "only a header, no points"),
    "single class": ("x0,x1,label\n0.1,0.2,1\n0.3,0.4,1\n", "all 2 points have label 1"),
    "not utf-8": (b"x0,x1,label\n0.1,0.2,\xff\n", "not a UTF-8 text file"),
}


@pytest.mark.parametrize("case", BAD)
def test_each_bad_csv_is_one_user_error_line(tmp_path, case):
    text, message = BAD[case]
    with pytest.raises(UserError) as info:
        datasets.load_csv(write(tmp_path, text))
    assert message in str(info.value) and "\n" not in str(info.value)
    assert str(tmp_path / "points.csv") in str(info.value)


def test_csv_row_errors_name_the_line(tmp_path):
    with pytest.raises(UserError, match=r"line 4: labels must be 0 or 1"):
        datasets.load_csv(write(tmp_path, "x0,x1,label\n0,0,1\n\n0,1,3\n"))


def test_missing_directory_and_oversized_files(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="no such file"):
        datasets.load_csv(tmp_path / "absent.csv")
    with pytest.raises(UserError, match="not a file"):
        datasets.load_csv(tmp_path)
    monkeypatch.setattr(datasets, "MAX_CSV_BYTES", 30)
    with pytest.raises(UserError, match="over the 30-byte limit"):
        datasets.load_csv(write(tmp_path, "x0,x1,label\n" + "0.1,0.2,1\n0.3,0.4,0\n" * 3))

