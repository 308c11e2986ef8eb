"""mutation.score's sample: which mutants it draws, and the interval it puts around a sampled score."""
from __future__ import annotations

import json

import numpy as np
import pytest

from mutation import score


@pytest.mark.parametrize("killed, n", [(0, 10), (7, 10), (180, 200), (200, 200)])
def test_wilson_bounds_solve_the_score_equation(killed, n):
    """The Wilson bounds are the p where the observed share lies z standard errors from p:
    (p̂ − p)² = z² p (1 − p) / n, a quadratic solved here by numpy."""
    z, share = 1.96, killed / n
    # (1 + z²/n) p² − (2 p̂ + z²/n) p + p̂² = 0
    roots = np.sort(np.roots([1 + z * z / n, -(2 * share + z * z / n), share * share]).real)
    lo, hi = score.wilson(killed, n, z)
    assert lo == pytest.approx(max(roots[0], 0.0), abs=1e-12) and hi == pytest.approx(min(roots[1], 1.0), abs=1e-12)
    assert lo <= share <= hi


def test_the_sample_is_drawn_among_unchecked_named_mutants_only(tmp_path):
    repo = tmp_path / "repo"
    meta = repo / "mutants" / "ingest" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"ingest.x.f__mutmut_{i}": (None if i % 3 else 1) for i in range(30)}
    codes.update({f"reports.y.g__mutmut_{i}": None for i in range(5)})
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    names = score.draw(repo, ["ingest.*"], 8, 4, tmp_path)
    unchecked = {k for k, v in codes.items() if v is None and k.startswith("ingest.")}
    assert len(names) == 8 == len(set(names)) and set(names) <= unchecked
    assert names == score.draw(repo, ["ingest.*"], 8, 4, tmp_path)  # the seed fixes the draw
    assert names != score.draw(repo, ["ingest.*"], 8, 5, tmp_path)
    assert set(score.draw(repo, ["ingest.*"], 100, 4, tmp_path)) == unchecked  # K above what there is: all
    kept = json.loads((tmp_path / "sample-4.json").read_text())
    assert kept["of"] == len(unchecked)
