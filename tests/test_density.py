"""The report's binned Gaussian-kernel density against a direct sum of Gaussians, written out here."""
from __future__ import annotations

import math

import numpy as np
import polars as pl
import pytest

from reports.density import density_grid, density_table, gaussian_density


def direct_kde(values: np.ndarray, width: float, x: np.ndarray) -> np.ndarray:
    """(1/n) Σ_v exp(−(x − v)²/(2 w²)) / (w √(2π)), one term per value, no binning."""
    out = np.zeros_like(x, dtype=np.float64)
    for v in values:
        out += np.exp(-((x - v) ** 2) / (2 * width**2))
    return out / (len(values) * width * math.sqrt(2 * math.pi))


SAMPLES = {
    "normal": lambda rng: rng.normal(0.5, 0.4, 3000),
    "log-normal (like the loss)": lambda rng: np.exp(rng.normal(-0.5, 0.5, 3000)),
    "heavy-tailed (like the gradients)": lambda rng: 0.1 * rng.standard_t(2, 3000),
    "bimodal with a gap at 0": lambda rng: np.concatenate([rng.normal(-0.3, 0.1, 1500), rng.normal(0.3, 0.1, 1500)]),
}


@pytest.mark.parametrize("name", sorted(SAMPLES))
@pytest.mark.parametrize("width", [0.03, 0.1])
def test_binned_density_matches_direct_sum(name, width):
    values = SAMPLES[name](np.random.default_rng(7))
    grid = density_grid(values, width)
    got = gaussian_density(values, width, grid)
    want = direct_kde(values, width, grid)
    # Linear binning at ≤ width/5 steps: the error is a small fraction of the curve's height.
    assert np.max(np.abs(got - want)) < 2e-3 * want.max()


def test_one_value_is_the_normal_pdf():
    grid = np.linspace(-1.0, 1.0, 401)  # the value 0.2 falls exactly on a grid point
    got = gaussian_density(np.array([0.2]), 0.1, grid)
    want = np.exp(-((grid - 0.2) ** 2) / (2 * 0.1**2)) / (0.1 * math.sqrt(2 * math.pi))
    # Exact up to the kernel's cut-off six widths out, where exp(−18) ≈ 1.5e-8 of the peak remains.
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=2e-8 * want.max())


def test_mass_and_mean_are_kept():
    values = SAMPLES["log-normal (like the loss)"](np.random.default_rng(3))
    grid = density_grid(values, 0.03)
    dens = gaussian_density(values, 0.03, grid)
    assert np.trapezoid(dens, grid) == pytest.approx(1.0, abs=1e-6)
    assert np.trapezoid(grid * dens, grid) == pytest.approx(values.mean(), abs=1e-6)


def test_grid_covers_the_kernel_tails_finely():
    values = np.array([0.1, 0.5, 2.0])
    grid = density_grid(values, 0.03)
    assert grid[0] <= 0.1 - 4 * 0.03 + 1e-12 and grid[-1] >= 2.0 + 4 * 0.03 - 1e-12
    assert np.all(np.diff(grid) <= 0.03 / 5 + 1e-12)


def test_density_table_one_curve_per_group():
    rng = np.random.default_rng(11)
    frame = pl.DataFrame({
        "keep_prob": np.repeat([0.25, 0.75], 500),
        "loss": np.concatenate([rng.normal(1.0, 0.3, 500), rng.normal(0.5, 0.2, 500)]),
    })
    table = density_table(frame, "loss", ["keep_prob"], 0.05)
    assert table.columns == ["keep_prob", "x", "density"]
    assert sorted(table["keep_prob"].unique().to_list()) == [0.25, 0.75]
    for p in (0.25, 0.75):
        curve = table.filter(pl.col("keep_prob") == p)
        values = frame.filter(pl.col("keep_prob") == p)["loss"].to_numpy()
        want = direct_kde(values, 0.05, curve["x"].to_numpy())
        assert np.max(np.abs(curve["density"].to_numpy() - want)) < 2e-3 * want.max()


def test_rejects_a_non_positive_width():
    with pytest.raises(ValueError):
        gaussian_density(np.array([0.0, 1.0]), 0.0, np.linspace(-1, 2, 50))
