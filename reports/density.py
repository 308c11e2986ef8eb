"""Gaussian-kernel density curves, the study's smoothing ("smoothed using a Gaussian kernel of width …";
the width is study_reference's kernel_width, the same the warehouse's density_curves view uses).

The page plots densities, never raw rows: a few hundred (x, density) points per curve stand for
thousands of masks or tens of thousands of gradients. The kernel sum is done on a regular grid by
linear binning followed by a discrete convolution with the sampled kernel, which costs
O(values + grid points · kernel taps) instead of O(values · grid points); with a grid step of at
most a fifth of the kernel width the binning error is far below what a line on a page can show.
"""

from __future__ import annotations

import numpy as np
import polars as pl

# Grid step as a fraction of the width: small enough that binning error is invisible.
STEPS_PER_WIDTH = 5
# The curve runs this many widths beyond the extreme values, where the kernel has died out.
TAIL_WIDTHS = 4.0
# A heavy-tailed sample (gradients) can span a wide range; cap the points of one curve.
MAX_GRID_POINTS = 1500


def density_grid(values: np.ndarray, width: float) -> np.ndarray:
    """Evaluation points covering the values plus the kernel's tails, step ≤ width / 5 (capped)."""
    lo = float(np.min(values)) - TAIL_WIDTHS * width
    hi = float(np.max(values)) + TAIL_WIDTHS * width
    n = int(np.ceil((hi - lo) / (width / STEPS_PER_WIDTH))) + 1
    return np.linspace(lo, hi, min(max(n, 2), MAX_GRID_POINTS))


def gaussian_density(values: np.ndarray, width: float, grid: np.ndarray,
                     weights: np.ndarray | None = None) -> np.ndarray:
    """Kernel density estimate Σ w_v φ((x − v)/width)/width / Σ w_v on an evenly spaced `grid`
    (every w_v = 1 without `weights`: the plain (1/n) Σ of a sample).

    Values are split linearly between their two neighbouring grid points (so the mean and the mass
    of the sample are kept exactly), then the binned counts are convolved with the kernel sampled
    at the grid step. Values outside the grid contribute nothing (but count in the total weight).
    """
    values = np.asarray(values, dtype=np.float64)
    weights = np.ones_like(values) if weights is None else np.asarray(weights, dtype=np.float64)
    finite = np.isfinite(values)
    values, weights = values[finite], weights[finite]
    if width <= 0:
        raise ValueError("kernel width must be positive")
    total = float(weights.sum())
    if values.size == 0 or total <= 0:
        return np.zeros_like(grid, dtype=np.float64)
    step = float(grid[1] - grid[0])
    pos = (values - grid[0]) / step
    inside = (pos >= 0) & (pos <= len(grid) - 1)
    pos, weights = pos[inside], weights[inside]
    left = np.minimum(np.floor(pos).astype(np.int64), len(grid) - 2)
    frac = pos - left
    counts = np.bincount(left, weights=weights * (1.0 - frac), minlength=len(grid))
    counts += np.bincount(left + 1, weights=weights * frac, minlength=len(grid))
    taps = int(np.ceil(TAIL_WIDTHS * 1.5 * width / step))
    offsets = np.arange(-taps, taps + 1) * step
    kernel = np.exp(-0.5 * (offsets / width) ** 2) / (width * np.sqrt(2.0 * np.pi))
    # The full convolution, shifted back by the kernel's half-length onto the grid.
    smoothed = np.convolve(counts, kernel)[taps : taps + len(grid)]
    return smoothed / total


def density_table(frame: pl.DataFrame, value: str, by: list[str], width: float) -> pl.DataFrame:
    """One density curve per group of `by`: columns `by` + x + density (small, ready to plot)."""
    parts = []
    for key, group in frame.group_by(by, maintain_order=True):
        values = group[value].drop_nulls().to_numpy()
        if values.size == 0:
            continue
        grid = density_grid(values, width)
        curve = pl.DataFrame({"x": grid, "density": gaussian_density(values, width, grid)})
        parts.append(curve.with_columns(pl.lit(k).alias(name) for name, k in zip(by, key)))
    if not parts:
        return pl.DataFrame(schema={**{name: frame.schema[name] for name in by}, "x": pl.Float64, "density": pl.Float64})
    return pl.concat(parts).select([*by, "x", "density"])


def normal_pdf(x: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The best-fit bell curve drawn beside a density (the study's dotted lines)."""
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * np.sqrt(2.0 * np.pi))
