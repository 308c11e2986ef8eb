"""Property: any invalid flag or TOML value is refused in one line with exit code 2, and the store is
left byte for byte as it was. Hypothesis draws the values; `ingest.run.main` runs in-process, with the
pipeline replaced by a tripwire, so a value that slipped through would fail the test rather than
start a run."""
from __future__ import annotations

import contextlib
import io
import json
import string
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import ingest.pipeline
from ingest import config as cfg
from ingest.run import main
from tests.conftest import run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]
SETTINGS = settings(max_examples=500, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
TRIED = {"flags": 0, "toml": 0}

POSITIVE_INTS = ("hidden", "train_points", "epochs", "batch_size", "test_points", "samples_per_prob",
                 "flip_paths", "grid_size", "block_masks", "shard_masks")
BUDGETED = ("train_points", "test_points", "samples_per_prob", "flip_paths", "grid_size")  # refused when huge
SEED_LIMITS = {"test_seed": 2 ** 32, "mask_seed": 2 ** 32, "path_seed": 2 ** 63}


def not_an_int(text: str) -> bool:
    return not cfg.INT_TEXT.fullmatch(text.strip())


def not_a_float(text: str) -> bool:
    return not cfg.FLOAT_TEXT.fullmatch(text.strip())


junk = st.text(alphabet=string.printable + "٣２éü\u00a0\x00", max_size=12)


def bad_int(name: str):
    options = [junk.filter(not_an_int)]
    if name in POSITIVE_INTS:
        options.append(st.integers(max_value=0).map(str))
    if name == "hidden":
        options.append(st.integers(min_value=25, max_value=10 ** 6).map(str))
    if name in BUDGETED:
        options.append(st.integers(min_value=10 ** 13, max_value=10 ** 30).map(str))
    if name in SEED_LIMITS:
        options += [st.integers(min_value=SEED_LIMITS[name], max_value=2 ** 200).map(str),
                    st.integers(max_value=-1).map(str)]
    return st.one_of(options)


def bad_float(name: str):
    options = [junk.filter(not_a_float), st.sampled_from(["nan", "inf", "-inf", "1e", ".", "1.2.3"])]
    if name == "rho":
        options += [st.floats(min_value=1, max_value=1e300).map(repr), st.floats(max_value=-1e-9, min_value=-1e300).map(repr)]
    else:
        options.append(st.floats(max_value=0, min_value=-1e300).map(repr))
    if name == "grid_extent":
        options.append(st.floats(min_value=1.1e18, max_value=1e300).map(repr))
    return st.one_of(options)


def bad_list(kind: str):
    good = st.sampled_from(["0.25", "0.5"]) if kind == "floats" else st.sampled_from(["0", "1"])
    bad_item = (junk.filter(not_a_float) if kind == "floats" else junk.filter(not_an_int))
    out_of_range = (st.floats(min_value=1, max_value=1e9).map(repr) if kind == "floats"
                    else st.integers(min_value=2 ** 63, max_value=2 ** 80).map(str))
    items = st.lists(st.one_of(good, bad_item, out_of_range, st.just("")), min_size=1, max_size=4)
    return st.one_of(
        items.filter(lambda xs: any(x == "" or (not_a_float(x) if kind == "floats" else not_an_int(x))
                                    for x in xs) or any(x not in ("0.25", "0.5", "0", "1") for x in xs)).map(",".join),
        st.just("0.5,0.5" if kind == "floats" else "1,1"),
        st.just(""))


def bad_flag():
    per_field = []
    for name in cfg.field_names():
        kind = cfg.field_kind(name)
        flag = "--" + name.replace("_", "-")
        if kind == "int":
            per_field.append(st.tuples(st.just(flag), bad_int(name)))
        elif kind == "float":
            per_field.append(st.tuples(st.just(flag), bad_float(name)))
        elif kind in ("ints", "floats"):
            per_field.append(st.tuples(st.just(flag), bad_list(kind)))
        elif name == "label_rule":
            per_field.append(st.tuples(st.just(flag), junk.filter(lambda t: t not in cfg.LABEL_RULES)))
        elif name == "device":
            per_field.append(st.tuples(st.just(flag), junk.filter(lambda t: not cfg.DEVICE.fullmatch(t))))
    unknown = st.tuples(st.text(alphabet=string.ascii_lowercase + "-", min_size=1, max_size=10).map(lambda t: "--" + t)
                        .filter(lambda f: f.lstrip("-").replace("-", "_") not in cfg.field_names() + ["train_seed", "config",
                                                                                                        "store", "report", "no_report", "help", "h"]
                                and not f.startswith("--no-") and f.strip("-")),
                        st.text(alphabet=string.ascii_letters, max_size=5))
    return st.one_of(*per_field, unknown)


def wrong_toml_value(name: str):
    """A TOML value of the wrong type for the field (checked even when a flag overrides it)."""
    kind = cfg.field_kind(name)
    strings = st.text(alphabet=string.ascii_letters + string.digits + " .,", max_size=6).map(json.dumps)
    if kind == "int":
        return st.one_of(strings, st.floats(allow_nan=False, allow_infinity=False).map(repr).filter(lambda t: "." in t or "e" in t),
                         st.sampled_from(["true", "false", "[1]", "{a = 1}"]))
    if kind == "float":
        return st.one_of(strings, st.sampled_from(["true", "[0.5]", "{a = 1}"]))
    if kind == "bool":
        return st.one_of(strings, st.integers().map(str), st.sampled_from(["[true]"]))
    if kind == "str":
        return st.one_of(st.integers().map(str), st.sampled_from(["true", "[\"code\"]", "1.5"]))
    if kind == "layers":  # an integer or a list of integers is right; anything else is not
        return st.one_of(strings, st.sampled_from(["true", "1.5", "[1, \"x\"]", "[1, true]", "[[1]]", "[1.5]",
                                                   "{a = 1}"]))
    item = "0.5" if kind == "floats" else "1"
    return st.one_of(strings, st.sampled_from([item, "true", f"[{item}, \"x\"]", f"[{item}, true]", "[[1]]"]))


def bad_toml():
    fields = st.sampled_from(cfg.field_names())
    wrong = fields.flatmap(lambda name: st.tuples(st.just(name), wrong_toml_value(name))).map(lambda kv: f"{kv[0]} = {kv[1]}\n")
    conflicts = st.sampled_from(["train_seed = 1\ntrain_seeds = [2]\n", 'train_points = 10\n"train-points" = 20\n',
                                 'hidden = 4\n"hidden" = 5\n', "grid_size = 5\ngrid-size = 5\n"])
    unknown = st.text(alphabet=string.ascii_lowercase + "_", min_size=1, max_size=10).filter(
        lambda k: cfg.canonical(k) not in cfg.field_names()).map(lambda k: f"{k} = 1\n")
    broken = st.sampled_from(["hidden = [\n", "= 3\n", "hidden = 4 4\n", "[a\n", "x = 'unterminated\n", "\x00\n"])
    return st.one_of(wrong, conflicts, unknown, broken)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    store = tmp_path_factory.mktemp("fuzz") / "store"
    run_cli("--store", str(store), *TINY, check=True)
    return store


def stamps(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): (p.stat().st_size, p.stat().st_mtime_ns, p.stat().st_ino)
            for p in sorted(folder.rglob("*"))}


def contents(folder: Path) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def tripwire():
    real = ingest.pipeline.run

    def reached(*args, **kwargs):
        raise AssertionError(f"an invalid input reached the pipeline: {args[0]}")
    ingest.pipeline.run = reached
    yield
    ingest.pipeline.run = real


def refused_in_one_line(argv: list[str], store: Path, before: dict) -> None:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(argv)  # any exception escaping here is a traceback the user would see
    lines = err.getvalue().splitlines()
    assert code == 2 and len(lines) == 1 and lines[0].startswith("error: "), (argv, err.getvalue())
    assert out.getvalue() == ""
    assert stamps(store) == before, argv


def test_invalid_flags_are_one_line_and_touch_nothing(store, tripwire):
    before, everything = stamps(store), contents(store)

    @SETTINGS
    @given(bad=bad_flag())
    def check(bad):
        TRIED["flags"] += 1
        refused_in_one_line(["--store", str(store), *TINY, *bad], store, before)
    check()
    assert contents(store) == everything
    print(f"fuzz: {TRIED['flags']} invalid flag values tried")


def test_invalid_toml_is_one_line_and_touches_nothing(store, tripwire, tmp_path):
    before, everything = stamps(store), contents(store)
    path = tmp_path / "bad.toml"

    @SETTINGS
    @given(text=bad_toml())
    def check(text):
        TRIED["toml"] += 1
        path.write_text(text)
        # the flags set every field the file might: the file is checked all the same
        refused_in_one_line(["--store", str(store), "--config", str(path), *TINY], store, before)
    check()
    assert contents(store) == everything
    print(f"fuzz: {TRIED['toml']} invalid TOML files tried")
