"""The input-space grid: a square of points around the training square, for the heat maps."""
from __future__ import annotations

import numpy as np


def grid_points(size: int, extent: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """grid_i (along x0), grid_j (along x1), and the points (size² × 2), x0 varying fastest."""
    axis = np.linspace(-extent, extent, size)
    j, i = np.meshgrid(np.arange(size), np.arange(size), indexing="ij")
    i, j = i.ravel(), j.ravel()
    return i.astype(np.int32), j.astype(np.int32), np.stack([axis[i], axis[j]], axis=1)
