"""Valid but degenerate configs give a complete page that says in words what it cannot compute.

A statistic can fail to exist for a valid run: a skewness or a standard error over one sampled mask
(--samples-per-prob 1) or over masks that all lose alike (--keep-probs 1e-9: every mask is empty), a
covariance over one flip path (--flip-paths 1), a pair or a rank correlation of one neuron (--hidden
1), a term of order three with two (--hidden 2), a share of the loss in a training square that no
grid point falls in (--grid-size 1). Each of these once crashed the report, or printed "None", "nan"
or a bare "—" where a number should be.

The page is checked for what a reader sees: the text outside scripts and styles holds no "nan",
"NaN", "None", "null", "undefined", "inf" or "Infinity"; and no caption (nor the header) holds the
report's placeholder for a missing number — the test swaps that placeholder (reports.fmt.MISSING,
"—") for a sentinel, so a caption that let a missing value through is caught even where "—" would
read as punctuation. Tables may show "—" for a cell that has no number; captions must say why.

`ingest.run.main` runs in-process (training, every stage, the warehouse, the report) into a fresh
temporary store per config, so an example costs a few seconds.
"""
from __future__ import annotations

import contextlib
import html
import io
import os
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

import reports.fmt
import reports.sections
from ingest.run import main
from reports import page

SENTINEL = "\u27c2MISSING\u27c2"
# what a number that leaked into the page as text looks like: Python's, SQL's, JavaScript's
LEAKED = re.compile(r"\b(nan|NaN|None|null|undefined|inf|Infinity)\b")
# sections every run shows; the exact sections need all 2^N masks, and `no_exhaustive` stands in for them
ALWAYS = {"header", *(f"f{i}" for i in range(1, 12)), "knockouts"}
# sections of data that `ingest.run` does not write (estimators: `python -m ingest.estimators` adds it)
OPTIONAL = {"estimators"}
SMALL = {"train_points": 60, "epochs": 1, "test_points": 20, "grid_size": 5, "train_seeds": "0"}


def visible_text(fragment: str) -> str:
    fragment = re.sub(r"<script\b.*?</script>|<style\b.*?</style>", " ", fragment, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment)))


def argv(store: Path, report: Path, config: dict) -> list[str]:
    out = ["--store", str(store), "--report", str(report)]
    for name, value in config.items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            out.append(flag if value else "--no-" + flag[2:])
        else:
            out += [flag, str(value)]
    return out


def run_and_read(config: dict, verify: bool = False) -> tuple[str, set[str], set[str]]:
    """Run ingest with its report into a fresh store; the page, the sections built and those left out.
    With `verify`, the store also passes `python -m ingest.verify` (its files and invariants)."""
    built, skipped = set(), set()
    real_build = reports.sections.build

    def build(name, ctx):
        section = real_build(name, ctx)
        (built if section is not None else skipped).add(name)
        return section

    with pytest.MonkeyPatch.context() as patch, tempfile.TemporaryDirectory() as tmp:
        patch.setattr(reports.sections, "build", build)
        patch.setattr(reports.fmt, "MISSING", SENTINEL)
        report = Path(tmp) / "page.html"
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv(Path(tmp) / "store", report, config))
        assert code == 0, (config, err.getvalue()[-2000:])
        if verify:
            from ingest.verify import verify as check_store
            assert check_store(Path(tmp) / "store") == [], config
        return report.read_text(encoding="utf-8"), built, skipped


def check_page(text: str, built: set[str], skipped: set[str], exhaustive: bool) -> None:
    from tests import chart_specs
    chart_specs.panel_words_have_panels(text)  # "Left:" only over panels side by side, on any page
    names = set(page.section_names())
    assert built | skipped == names, names - built - skipped
    if exhaustive:
        assert "no_exhaustive" in skipped and skipped <= {"no_exhaustive"} | OPTIONAL, \
            f"left out of the page: {sorted(skipped)}"
    else:
        assert ALWAYS | {"no_exhaustive"} <= built, f"left out of the page: {sorted(skipped)}"
    assert text.rstrip().endswith("</html>")
    sections = re.findall(r'<section id="([^"]+)">(.*?)</section>', text, re.S)
    assert len(sections) == len(built - {"header"})  # every built section is on the page, once
    shown = visible_text(text)
    leaked = [shown[max(0, m.start() - 60):m.end() + 20] for m in LEAKED.finditer(shown)]
    assert not leaked, leaked
    # tables may show the placeholder for a cell without a number; captions and the header may not
    captions = re.findall(r'<p class="caption">(.*?)</p>', text, re.S)
    captions.append(re.search(r"<header>(.*?)</header>", text, re.S).group(1))
    bare = [visible_text(c) for c in captions if SENTINEL in c]
    assert not bare, [c[max(0, c.index(SENTINEL) - 80):c.index(SENTINEL) + 40] for c in bare]


# The configs issue 13 found crashing the report after the store was complete, and a grid too coarse
# to put a point in the training square.
NAMED = {
    "hidden 1": {"hidden": 1},
    "hidden 2": {"hidden": 2},
    "one mask per p": {"hidden": 4, "samples_per_prob": 1},
    "keep prob 1e-9": {"hidden": 4, "keep_probs": "1e-9"},
    "one flip path": {"hidden": 4, "flip_paths": 1},
    "grid of one point": {"hidden": 3, "grid_size": 1},
    # found by the property test below: a path correlation of exactly 0 made 4/r² infinite in
    # flip_path_significance, and casting it to a count of paths failed in the warehouse
    "keep prob near 1, two test points": {"hidden": 2, "train_points": 51, "epochs": 1, "train_seeds": "1",
                                          "test_points": 2, "samples_per_prob": 4, "keep_probs": "0.999999999",
                                          "flip_paths": 4, "grid_size": 2, "grid_extent": 2.0},
    "all of them": {"hidden": 1, "samples_per_prob": 1, "keep_probs": "1e-9", "flip_paths": 1, "grid_size": 1,
                    "test_points": 1, "train_points": 1},
}


@pytest.mark.parametrize("overrides", NAMED.values(), ids=NAMED.keys())
def test_a_degenerate_config_renders_a_complete_page(overrides):
    config = {**SMALL, "samples_per_prob": 20, "flip_paths": 10, **overrides}
    check_page(*run_and_read(config, verify=True), exhaustive=True)


KEEP_PROBS = [1e-9, 0.1, 0.25, 0.5, 0.75, 0.999999999]


@st.composite
def small_configs(draw) -> dict:
    """Small valid configs, extremes included: 1–6 neurons, 1–80 training and 1–40 test points, one or
    two epochs and networks, 1–20 masks per p at one to three keep probabilities from 1e-9 to
    1 − 1e-9, 1–20 flip paths, grids of 1–6 points a side over extents 0.5–3, exhaustive on or off."""
    seeds = draw(st.lists(st.integers(0, 9), min_size=1, max_size=2, unique=True))
    return {
        "hidden": draw(st.integers(1, 6)),
        "train_points": draw(st.integers(1, 80)),
        "epochs": draw(st.integers(1, 2)),
        "train_seeds": ",".join(map(str, seeds)),
        "test_points": draw(st.integers(1, 40)),
        "samples_per_prob": draw(st.integers(1, 20)),
        "keep_probs": ",".join(f"{p!r}" for p in sorted(draw(
            st.lists(st.sampled_from(KEEP_PROBS), min_size=1, max_size=3, unique=True)))),
        "flip_paths": draw(st.integers(1, 20)),
        "grid_size": draw(st.integers(1, 6)),
        "grid_extent": draw(st.sampled_from([0.5, 1.0, 2.0, 3.0])),
        "exhaustive": draw(st.booleans()),
    }


# Each example is a whole run, so shrinking a failure could take many minutes: the failing config is
# printed as drawn instead (note), and the named configs above are the cases found worth keeping.
# The suite draws the same 12 configs every time (derandomize), so CI never turns on a new draw;
# KNOCKOUT_EXPLORE=1 draws fresh ones (a failure found that way becomes a named config above).
@settings(max_examples=12, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          derandomize=not os.environ.get("KNOCKOUT_EXPLORE"), suppress_health_check=[HealthCheck.too_slow])
@given(config=small_configs())
def test_any_small_valid_config_renders_a_complete_page(config):
    note(f"config: {config}")
    check_page(*run_and_read(config), exhaustive=config["exhaustive"])
