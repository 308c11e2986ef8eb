"""Each stage declares the config fields it reads; fingerprints and --help come from those declarations.

Checked three ways: every Config field is read by a stage or says what it changes instead; each
stage, run on a config that records what is asked of it, reads exactly what it declares; and a
real rerun after changing one flag redoes exactly the stages that declare it.
"""
from __future__ import annotations

import json
from dataclasses import fields

import pytest

from ingest import stages
from ingest.config import Config, field_names
from tests.conftest import run_cli

TINY = ["--hidden", "4", "--train-points", "200", "--epochs", "1", "--test-points", "50",
        "--samples-per-prob", "10", "--flip-paths", "5", "--grid-size", "5", "--train-seed", "0", "--no-report"]


def readers(name: str) -> list[str]:
    return [s.name for s in stages.STAGES.values() if name in s.reads]


def test_every_field_is_read_by_a_stage_or_changes_no_stored_number():
    for f in fields(Config):
        assert f.metadata.get("help"), f"{f.name} has no help text"
        changes_only = f.metadata.get("changes_only")
        assert bool(readers(f.name)) != bool(changes_only), (
            f"{f.name}: read by {readers(f.name)}, declared to change only {changes_only!r}")
    for stage in stages.STAGES.values():
        assert set(stage.reads) <= set(field_names()), stage
    assert list(stages.STAGES) == ["train", "samples", "landmarks", "exhaustive", "exhaustive_targets",
                                   "exhaustive_regrouped", "flip_paths", "grid", "summary", "transforms", "estimators"]


class Recording:
    """A config that notes every field a stage asks for."""

    def __init__(self, config: Config):
        self._config = config
        self.seen: set[str] = set()

    def __getattr__(self, name):
        if name == "to_json":  # the runs row keeps the whole config as a record, not as an input
            return self._config.to_json
        derived = getattr(Config, name, None)
        if isinstance(derived, property):  # nodes, layers, …: the fields they are computed from
            return derived.fget(self)
        self.seen.add(name)
        return getattr(self._config, name)


def asked(seen: set[str]) -> set[str]:
    """What a stage asked for, less the fields that change only speed or memory."""
    return {name for name in seen if not Config.__dataclass_fields__[name].metadata["changes_only"]}


def test_each_stage_reads_exactly_what_it_declares(tmp_path):
    config = Config(hidden=4, train_points=120, epochs=1, train_seeds=(0,), test_points=40,
                    samples_per_prob=5, flip_paths=3, grid_size=5)
    record = Recording(config)
    fitted = stages.fit_all(record, {0: config.train_seeds[0]})
    # the seed arrives as an argument: the run passes each network its own train_seeds[run_id]
    assert asked(record.seen) | {"train_seeds"} == set(stages.STAGES["train"].reads)
    trained = fitted[0].trained
    for stage in stages.after_training():
        record = Recording(config)
        if stage.parts:
            for part, (lo, hi) in enumerate(stage.parts(record)):
                stage.work(record, tmp_path, trained, part, lo, hi)
        else:
            stage.work(record, tmp_path, trained)
        assert asked(record.seen) == set(stage.reads), stage.name


def stage_reuse(store) -> dict[str, bool]:
    """Per stage of the last run on `store`: True if every unit was reused, False if all were redone."""
    manifest = json.loads((store / "manifest.json").read_text())
    out = {}
    for record in manifest["stages"]:
        if record["stage"] in stages.STAGES:
            total = sum(1 for key in manifest["units"] if key.split("/")[0] == record["stage"])
            assert record["reused"] in (0, total), record
            out[record["stage"]] = record["reused"] == total
    return out


def expected_reuse(flag_field: str) -> dict[str, bool]:
    """From the declarations alone: a stage reruns if it reads the field, directly or through a stage it
    uses, or its network was retrained."""
    retrained = "train" in readers(flag_field)
    return {name: not (s.depends_on(flag_field) or retrained) for name, s in stages.STAGES.items()}


@pytest.fixture(scope="module")
def tiny_store(tmp_path_factory):
    store = tmp_path_factory.mktemp("tiny")
    run_cli("--store", str(store), *TINY, check=True)
    assert stage_reuse(store) == {name: False for name in stages.STAGES}
    return store


def test_changing_a_field_reruns_exactly_the_stages_that_read_it(tiny_store):
    changes = [("keep_probs", ["--keep-probs", "0.2,0.8"]),
               ("grid_size", ["--keep-probs", "0.2,0.8", "--grid-size", "7"]),
               ("label_rule", ["--keep-probs", "0.2,0.8", "--grid-size", "7", "--label-rule", "intent"])]
    for field, flags in changes:
        run_cli("--store", str(tiny_store), *TINY, *flags, check=True)
        assert stage_reuse(tiny_store) == expected_reuse(field), field
    assert expected_reuse("keep_probs") == {"train": True, "samples": False, "landmarks": True,
                                            "exhaustive": True, "exhaustive_targets": True,
                                            "exhaustive_regrouped": True, "flip_paths": True, "grid": True,
                                            "summary": False, "transforms": True, "estimators": True}
    assert [name for name, reused in expected_reuse("grid_size").items() if not reused] == ["grid"]


def test_help_says_which_stages_read_each_flag():
    proc = run_cli("--help")
    assert proc.returncode == 0
    text = " ".join(proc.stdout.split())  # argparse wraps lines
    assert "--keep-probs KEEP_PROBS comma-separated keep probabilities, e.g. 0.25,0.5,0.75 " \
           "(default: 0.25,0.5,0.75; read by: samples, summary)" in text
    assert "(default: 81; read by: grid)" in text
    assert ("read by: train, samples, landmarks, exhaustive, exhaustive_targets, exhaustive_regrouped, flip_paths, "
            "grid, summary, transforms, estimators)") in text
    assert "(default: 8192; changes only memory and speed" in text
    for stage in stages.STAGES.values():
        assert f"{stage.name} " + " ".join("--" + n.replace("_", "-") for n in stage.reads) in text
