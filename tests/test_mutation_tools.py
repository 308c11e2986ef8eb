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
    assert kept["of"] == {"ingest.*": len(unchecked)}


def test_each_pattern_gets_its_own_k(tmp_path):
    """With two patterns, K mutants from each: a package with few mutants is not crowded out."""
    repo = tmp_path / "repo"
    meta = repo / "mutants" / "ingest" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    codes = {f"ingest.x.f__mutmut_{i}": None for i in range(40)}
    codes.update({f"reports.y.g__mutmut_{i}": None for i in range(6)})
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    names = score.draw(repo, ["ingest.*", "reports.*"], 5, 1, tmp_path)
    assert sum(n.startswith("ingest.") for n in names) == 5 == sum(n.startswith("reports.") for n in names)
    names = score.draw(repo, ["ingest.*", "reports.*"], 10, 1, tmp_path)
    assert sum(n.startswith("ingest.") for n in names) == 10 and sum(n.startswith("reports.") for n in names) == 6
    # overlapping patterns never draw one mutant twice
    names = score.draw(repo, ["ingest.*", "ingest.x.*"], 30, 1, tmp_path)
    assert len(names) == len(set(names)) == 40


def test_equivalent_mutants_are_read_with_their_reasons_and_left_out_of_the_second_score(tmp_path, capsys,
                                                                                         monkeypatch):
    listed = tmp_path / "equivalent.toml"
    listed.write_text('["ingest.x.f__mutmut_1"]\nwhy = "indent of a JSON file"\n'
                      '["ingest.x.f__mutmut_2"]\nwhy = "killed anyway"\n')
    assert score.judged(listed) == {"ingest.x.f__mutmut_1": "indent of a JSON file",
                                    "ingest.x.f__mutmut_2": "killed anyway"}
    assert score.judged(tmp_path / "absent.toml") == {}
    repo = tmp_path / "work" / "repo"
    meta = repo / "mutants" / "ingest" / "x.py.meta"
    meta.parent.mkdir(parents=True)
    # 1 survives and is listed; 2 is listed but killed (still counted); 3 survives; 4..10 killed
    codes = {"ingest.x.f__mutmut_1": 0, "ingest.x.f__mutmut_2": 1, "ingest.x.f__mutmut_3": 0}
    codes.update({f"ingest.x.f__mutmut_{i}": 1 for i in range(4, 11)})
    meta.write_text(json.dumps({"exit_code_by_key": codes}))
    monkeypatch.setattr(score, "EQUIVALENT", listed)
    assert score.main(["--workdir", str(tmp_path / "work")]) == 0
    out = capsys.readouterr().out
    assert "ingest/                            8     10    80%" in out
    assert "ingest/ but equivalent             8      9    89%" in out
    assert "survived: ingest.x.f__mutmut_1  [equivalent: indent of a JSON file]" in out
    assert "survived: ingest.x.f__mutmut_3\n" in out


def test_files_mutmut_is_told_not_to_mutate_are_left_out_of_the_score(tmp_path):
    repo = tmp_path / "repo"
    for module, code in (("bench", 0), ("kernel", 1)):
        meta = repo / "mutants" / "ingest" / f"{module}.py.meta"
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps({"exit_code_by_key": {f"ingest.{module}.f__mutmut_1": code}}))
    (repo / "pyproject.toml").write_text('[tool.mutmut]\ndo_not_mutate = ["ingest/bench.py"]\n')
    by_module, generated = score.results(repo)
    assert by_module == {"ingest.kernel": {"ingest.kernel.f__mutmut_1": "killed"}} and generated == {"ingest.kernel": 1}
    (repo / "pyproject.toml").write_text('[tool.mutmut]\n')
    assert set(score.results(repo)[0]) == {"ingest.bench", "ingest.kernel"}
