"""The stages of a run, each declaring beside its code the config fields it reads.

`@stage(name, reads=…)` records a stage in STAGES, in run order. `reads` names every config field
whose value goes into the stage's files; the stage's fingerprint (ingest/pipeline.py) hashes exactly
those values plus its network's training fingerprint, and `--help` (ingest/cli.py) lists, per flag,
the stages that read it. A field that no stage reads says what it changes instead, in ingest/config.py.

torch and pyarrow are imported inside the functions: `--help` and flag errors read the declarations
here, and must answer before those libraries take their second to load.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable

import numpy as np

from ingest import data, grid, masks, paths

if TYPE_CHECKING:
    import pyarrow as pa

    from ingest.kernel import MaskKernel
    from ingest.network import Network


@dataclass(frozen=True)
class Stage:
    """A unit of work per network (for train: of all networks together), declared with `@stage`."""
    name: str
    reads: tuple[str, ...]  # config fields whose values go into its files
    work: Callable  # after training: (config, store, trained, *part) -> the files it wrote
    # Mask ranges of a stage written as several files, (lo, hi) each; None: one file per network.
    parts: Callable | None = None
    # Earlier stages whose files it reads: their inputs are its inputs too.
    uses: tuple[str, ...] = ()
    # Networks worked on at once (threads): for numpy-bound stages that do not thread themselves.
    threads: int = 1
    # Called with the store once every network's units of the stage are done or reused.
    done: Callable | None = None

    def inputs(self, config, run_id: int) -> dict:
        """The values it reads, for one network's fingerprint. A network depends on its own seed,
        never on which networks train beside it (network.train_many: bit for bit the same)."""
        values = {name: getattr(config, name) for name in self.reads}
        if "train_seeds" in values:
            values["train_seeds"] = config.train_seeds[run_id]
        values = data.fingerprint_values(config, values)  # a CSV counts by its content (ingest/data.py)
        # The network's shape at its defaults (relu, every layer masked) adds nothing: the study's
        # network keeps the fingerprints it has always had.
        if values.get("activation") == "relu":
            del values["activation"]
        if values.get("mask_layers") == ():
            del values["mask_layers"]
        # With per-mask rows the files are the same whichever mode keeps them (all, or auto at small N).
        if "exhaustive_rows" in values and config.keeps_rows:
            del values["exhaustive_rows"]
        for name in self.uses:
            values[f"stage:{name}"] = STAGES[name].inputs(config, run_id)
        return values

    def depends_on(self, field: str) -> bool:
        """Whether the field's value reaches its files, directly or through a stage it uses."""
        return field in self.reads or any(STAGES[name].depends_on(field) for name in self.uses)


STAGES: dict[str, Stage] = {}


def stage(name: str, reads: tuple[str, ...], parts: Callable | None = None, uses: tuple[str, ...] = (),
          threads: int = 1, done: Callable | None = None):
    def declare(work: Callable) -> Callable:
        STAGES[name] = Stage(name, tuple(reads), work, parts, tuple(uses), threads, done)
        return work
    return declare


def after_training() -> list[Stage]:
    """The per-network stages, in run order."""
    return [s for s in STAGES.values() if s.name != "train"]


@dataclass
class Trained:
    """What the later stages of one run need from its training stage."""
    run_id: int
    net: Network
    kernel: MaskKernel  # on the test set


def file_name(run_id: int) -> str:
    return f"run-{run_id}"


def accuracy(net, x, y) -> float:
    from ingest.kernel import logit_terms
    from ingest.network import Network, logit_difference
    if not isinstance(net, Network):
        return float(np.mean((logit_difference(net, x) > 0) == (y == 1)))
    _, a, c = logit_terms(net, x)
    return float(np.mean((a.sum(axis=1) + c > 0) == (y == 1)))


def kernel_for(config, net, x: np.ndarray, y: np.ndarray):
    """The mask evaluator of this network on these points: the one-layer kernel (ingest/kernel.py)
    for the study's shape, the deep evaluator (ingest/deep.py, on the CPU) for any other network.
    Both answer evaluate, evaluate_range and pointwise with loss and gradients over the N masked
    units, bits layer by layer."""
    if config.study_shape:
        from ingest.kernel import MaskKernel
        return MaskKernel(net, x, y, device=config.device)
    from ingest.deep import DeepKernel
    from ingest.network import linear_layers
    return DeepKernel(linear_layers(net), x, y, config.activation, list(config.masked_layers))


def pointwise_full(config, net, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-point loss and ∂loss/∂on_i of the full network at labelled points (a grid)."""
    if config.study_shape:
        from ingest.kernel import MaskKernel
        return MaskKernel(net, x, y).pointwise(masks.full(config.nodes))
    return kernel_for(config, net, x[:1], y[:1]).pointwise(masks.full(config.nodes), x, y)


def _test_set(config):
    return data.test_set(config)


@dataclass
class Fitted:
    """A trained network and its tables, held in memory until every network has trained cleanly."""
    trained: Trained
    tables: dict[str, pa.Table]


def training_data(config, seed: int) -> tuple[np.ndarray, np.ndarray]:
    return data.train_set(config, seed)


# Everything the networks, their weights and their runs rows (test loss and accuracy) depend on.
@stage("train", reads=("dataset", "train_data", "test_data", "model",
                       "hidden", "activation", "mask_layers", "label_rule", "train_points", "epochs", "batch_size", "learning_rate",
                       "rho", "epsilon", "train_seeds", "test_points", "test_seed"))
def fit_all(config, seeds: dict[int, int], progress=None) -> dict[int, Fitted]:
    """Train the networks of {run_id: seed} together; raises UserError (writing nothing) if one diverged.
    Their files are written afterwards, one network at a time, by `write_training`."""
    from ingest import model_file, network
    data = {run_id: training_data(config, seed) for run_id, seed in seeds.items()}
    if config.model:  # trained elsewhere: the file's weights, checked when the flags were read
        nets = [model_file.network(config, model_file.read(config.model))]
    else:
        nets = network.train_many(config, list(data.values()), list(seeds.values()), progress=progress)
    return {run_id: describe(config, run_id, seeds[run_id], net, *data[run_id])
            for run_id, net in zip(seeds, nets)}


def train_config(config, seed: int) -> str:
    """JSON of what this network was made from: exactly the fields the train stage reads, with its
    own seed. (The runs row is reused as long as those stay the same, so it says nothing about the
    later stages; the warehouse adds the whole configuration, ingest/catalog.py.)"""
    values = STAGES["train"].inputs(config, 0)
    del values["train_seeds"]  # the config's first seed; this network's is `seed`
    if not config.model:  # a loaded network has no training seed
        values["train_seed"] = seed
    return json.dumps(values, sort_keys=True)


def describe(config, run_id: int, seed: int, net, x_train, y_train) -> Fitted:
    """The tables of one trained network: weights, points, test contributions and its runs row."""
    import pyarrow as pa

    from ingest import network, tables
    from ingest.kernel import logit_terms
    x_test, y_test = _test_set(config)
    full = np.array([masks.full(config.nodes)])
    test_kernel = kernel_for(config, net, x_test, y_test)
    test_loss = float(test_kernel.evaluate(full)[0][0])
    # --model without --train-data: no training points, so no train loss (null)
    train_loss = float(kernel_for(config, net, x_train, y_train).evaluate(full)[0][0]) if len(x_train) else None
    tables.check_finite("the full network's loss", np.array([test_loss, train_loss if len(x_train) else 0.0]))
    run_row = pa.table({
        "run_id": pa.array([run_id], pa.int32()),
        # a network loaded with --model had no seed here: null
        "train_seed": pa.array([None if config.model else seed], pa.int64()), "hidden": [config.nodes],
        **data.runs_columns(config),  # dataset, label_rule, radius, boundary, CSV hashes
        # one hidden layer: a mask's logit is logit_bias + Σ its units' contributions; undefined (null) beyond
        "logit_bias": pa.array([logit_terms(net, x_test[:1])[2] if config.study_shape else None], pa.float64()),
        "train_loss": pa.array([train_loss], pa.float64()),
        "train_accuracy": pa.array([accuracy(net, x_train, y_train) if len(x_train) else None], pa.float64()),
        "test_loss": [test_loss], "test_accuracy": [accuracy(net, x_test, y_test)],
        "train_config": [train_config(config, seed)],
        "layer_sizes": pa.array([list(config.layers)], pa.list_(pa.int32())),
        "activation": pa.array([config.activation], pa.string()),
        "mask_layers": pa.array([list(config.masked_layers)], pa.list_(pa.int32())),
    })
    contrib_labels = y_test
    if config.study_shape:
        hidden, contrib, _ = logit_terms(net, x_test)
    else:  # per-unit logit contributions exist for one hidden layer only: no rows
        hidden = contrib = np.zeros((0, config.nodes), np.float32)
        contrib_labels = y_test[:0]
    # In write order: the runs row last, so it only ever describes a network whose files are complete.
    out = {
        "weights": network.weights_table(net, run_id),
        "points": pa.concat_tables([tables.points_rows(run_id, "train", x_train, y_train),
                                    tables.points_rows(run_id, "test", x_test, y_test)]),
        "test_contribs": tables.contrib_rows(run_id, contrib_labels, hidden, contrib),
        "runs": run_row,
    }
    return Fitted(Trained(run_id, net, test_kernel), out)


def fitted_from_tables(config, run_id: int, tables: dict) -> Fitted:
    """A network trained elsewhere (a Ray worker), rebuilt from its tables before they are written."""
    from ingest import network
    net = network.from_weights_table(tables["weights"], run_id, config)
    x_test, y_test = _test_set(config)
    return Fitted(Trained(run_id, net, kernel_for(config, net, x_test, y_test)), tables)


def write_training(store: Path, fitted: Fitted) -> list[Path]:
    from ingest.store import write_file
    name = file_name(fitted.trained.run_id)
    return [write_file(store, table, name, data) for table, data in fitted.tables.items()]


def load_trained(config, store: Path, run_id: int) -> Trained:
    """A finished training stage, rebuilt from its stored weights (no retraining on resume)."""
    import pyarrow.parquet as pq

    from ingest import network
    rows = pq.read_table(store / "weights" / f"{file_name(run_id)}.parquet")
    net = network.from_weights_table(rows, run_id, config)
    x_test, y_test = _test_set(config)
    return Trained(run_id, net, kernel_for(config, net, x_test, y_test))


def evaluate(kernel: MaskKernel, mask_array: np.ndarray, block: int) -> tuple[np.ndarray, np.ndarray]:
    from ingest.kernel import blocks
    loss = np.empty(len(mask_array), np.float32)
    grad = np.empty((len(mask_array), kernel.hidden), np.float32)
    for lo, hi in blocks(0, len(mask_array), block):
        loss[lo:hi], grad[lo:hi] = kernel.evaluate(mask_array[lo:hi])
    return loss, grad


@stage("samples", reads=("hidden", "mask_layers", "mask_seed", "samples_per_prob", "keep_probs"))
def samples(config, store: Path, t: Trained) -> list[Path]:
    import pyarrow as pa

    from ingest import tables
    from ingest.store import write_file
    keep_prob, sample_id, sample_masks = masks.sampled(config)
    loss, grad = evaluate(t.kernel, sample_masks, config.block_masks)
    table = tables.mask_rows(t.run_id, sample_masks, loss, grad, leading={
        "keep_prob": pa.array(keep_prob), "sample_id": pa.array(sample_id)})
    return [write_file(store, "mask_samples", file_name(t.run_id), table)]


@stage("landmarks", reads=("hidden", "mask_layers"))
def landmarks(config, store: Path, t: Trained) -> list[Path]:
    from ingest import tables
    from ingest.store import write_file
    marks = masks.landmarks(config.nodes)
    loss, grad = evaluate(t.kernel, marks, config.block_masks)
    return [write_file(store, "mask_landmarks", file_name(t.run_id),
                       tables.mask_rows(t.run_id, marks, loss, grad))]


def exhaustive_shards(config) -> list[tuple[int, int]]:
    """Mask ranges, one file each: a killed run loses at most one shard of work."""
    from ingest.kernel import blocks
    total = 2 ** config.nodes if config.exhaustive else 0
    return list(blocks(0, total, config.shard_masks)) or [(0, 0)]


EXHAUSTIVE_ROWS = 1 << 18  # masks per exhaustive row group: ~25 MB of loss and gradients


def exhaustive_units(config) -> list[tuple[int, int]]:
    """The exhaustive stage's units: shards of per-mask rows, or with --exhaustive-rows none the
    units of ingest/aggregate.py (mirror pairs of shards, then the regrouped masks)."""
    if config.exhaustive and not config.keeps_rows:
        from ingest import aggregate
        return aggregate.pair_units(config)
    return exhaustive_shards(config)


@stage("exhaustive", reads=("hidden", "mask_layers", "exhaustive", "exhaustive_rows", "shard_masks"),
       parts=exhaustive_units, threads=2)
def exhaustive_shard(config, store: Path, t: Trained, part: int, lo: int, hi: int) -> list[Path]:
    from ingest import tables
    from ingest.kernel import blocks
    from ingest.store import FileWriter
    if config.exhaustive and not config.keeps_rows:
        return pair_unit(config, store, t, part, lo)
    # Dictionary encoding pays only for the few-valued columns; on losses and gradients it halves speed.
    with FileWriter(store, "mask_exhaustive", f"{file_name(t.run_id)}-part-{part:03d}",
                    dictionary=["run_id", "n_on"]) as writer:
        # Row groups of EXHAUSTIVE_ROWS masks: memory stays bounded whatever N, and Parquet encodes
        # a few large row groups far faster than many small ones.
        for b_lo, b_hi in blocks(lo, hi, EXHAUSTIVE_ROWS):
            loss, grad = t.kernel.evaluate_range(b_lo, b_hi)
            writer.write(tables.mask_rows(t.run_id, np.arange(b_lo, b_hi, dtype=np.int64), loss, grad))
        if hi == lo:  # --no-exhaustive: an empty file keeps the columns so every view answers
            empty = np.zeros(0, np.int64)
            writer.write(tables.mask_rows(t.run_id, empty, np.zeros(0), np.zeros((0, config.nodes))))
    return [writer.final]


def pair_unit(config, store: Path, t: Trained, part: int, lo: int) -> list[Path]:
    """A mirror pair of shards (one shard when it holds every mask) evaluated and reduced to partial
    sums (exhaustive_sums); the first unit also writes an empty mask_exhaustive file, so every view
    over the per-mask rows answers, with no rows."""
    import copy

    from ingest import aggregate, tables
    from ingest.store import write_file
    g = aggregate.layout(config)
    u = lo // (2 * g.size)
    starts = sorted({u * g.size, (g.shards - 1 - u) * g.size})
    loss = np.empty(len(starts) * g.size, np.float32)
    grad = np.empty((len(starts) * g.size, config.nodes), np.float32)
    identity = aggregate.scratch_identity(t.kernel, g) if g.shards > 1 else None
    kernel = t.kernel
    if g.shards > 2:  # units run two at a time (the stage's threads; Ray: a CPU per task): one kernel
        # thread each, so one unit's reduction overlaps the other's evaluation (the numbers of a mask
        # do not depend on the threads)
        kernel = copy.copy(kernel)
        kernel.workers = 1
    for i, start in enumerate(starts):
        here = slice(i * g.size, (i + 1) * g.size)
        loss[here], grad[here] = kernel.evaluate_range(start, start + g.size)
        if identity is not None:  # for the regrouped units, which then need not evaluate again
            aggregate.write_scratch(store, t.run_id, identity, g, start // g.size, loss[here], grad[here])
    partial = aggregate.reduce_pair(config.nodes, starts, g.size, loss, grad)
    del loss, grad
    name = file_name(t.run_id)
    files = [write_file(store, "exhaustive_sums", f"{name}-part-{part:04d}", partial.table(t.run_id, part))]
    if part == 0:
        empty = np.zeros(0, np.int64)
        files.append(write_file(store, "mask_exhaustive", f"{name}-part-000", tables.mask_rows(
            t.run_id, empty, np.zeros(0), np.zeros((0, config.nodes)))))
    return files


def aggregate_files(config, store: Path, run_id: int, kind: str) -> list[Path]:
    """A run's partial sums: of the mirror pairs (kind "part") or of the regrouped units."""
    from ingest import aggregate
    units = aggregate.pair_units(config) if kind == "part" else regrouped_units(config)
    return [store / "exhaustive_sums" / f"{file_name(run_id)}-{kind}-{i:04d}.parquet" for i in range(len(units))]


def _aggregate_only(config) -> bool:
    return config.exhaustive and not config.keeps_rows


# Aggregate-only enumeration, what the regrouped units look for (ingest/aggregate.py): per size, the
# bins of the middle ranks and of the threshold near the best, from the mirror pairs' sums.
@stage("exhaustive_targets", reads=("hidden", "mask_layers", "exhaustive", "exhaustive_rows", "shard_masks"),
       uses=("exhaustive",))
def exhaustive_targets(config, store: Path, t: Trained) -> list[Path]:
    from ingest import aggregate, merge
    from ingest.store import write_file
    name = file_name(t.run_id)
    units = aggregate.regrouped_units(config)
    if _aggregate_only(config) and units != [(0, 0)]:
        merged = merge.Merged.read(aggregate_files(config, store, t.run_id, "part"))
    else:  # nothing for regrouped units to look for: no rows
        merged = merge.Merged()
    return [write_file(store, "exhaustive_targets", name, merge.targets(t.run_id, config.nodes, merged))]


def regrouped_units(config) -> list[tuple[int, int]]:
    """The regrouped stage's units; with per-mask rows one empty unit, whose file has no rows."""
    from ingest import aggregate
    units = aggregate.regrouped_units(config)
    return units if _aggregate_only(config) else [(0, 0)]


def remove_spill(store: Path) -> None:
    """The mirror-pair units' spill has served once the regrouped units are done (ingest/aggregate.py)."""
    from ingest import aggregate
    aggregate.remove_scratch(store)


# Aggregate-only enumeration: every mask again, grouped so that the flips of the high nodes lie
# inside a unit (ingest/aggregate.py); none when one shard holds every mask, or with per-mask rows.
@stage("exhaustive_regrouped", reads=("hidden", "mask_layers", "exhaustive", "exhaustive_rows", "shard_masks"),
       parts=regrouped_units, uses=("exhaustive_targets",), threads=2, done=remove_spill)
def exhaustive_regrouped(config, store: Path, t: Trained, part: int, lo: int, hi: int) -> list[Path]:
    import pyarrow.parquet as pq

    from ingest import aggregate
    from ingest.store import write_file
    if hi == lo:
        return [write_file(store, "exhaustive_sums", f"{file_name(t.run_id)}-regrouped-{part:04d}",
                           aggregate.Partial().table(t.run_id, part))]
    g = aggregate.layout(config)
    masks = aggregate.second_masks(g, lo // g.size)
    spilled = aggregate.read_scratch(store, t.run_id, aggregate.scratch_identity(t.kernel, g), g, lo // g.size)
    loss, grad = spilled if spilled is not None else aggregate.evaluate_high(t.kernel, masks, g.shard_bits)
    target = pq.read_table(store / "exhaustive_targets" / f"{file_name(t.run_id)}.parquet")
    partial = aggregate.reduce_regrouped(g, masks, loss, grad, target)
    return [write_file(store, "exhaustive_sums", f"{file_name(t.run_id)}-regrouped-{part:04d}",
                       partial.table(t.run_id, part))]


@stage("flip_paths", reads=("hidden", "mask_layers", "flip_paths", "path_seed"))
def flip_paths(config, store: Path, t: Trained) -> list[Path]:
    import pyarrow as pa

    from ingest import tables
    from ingest.store import write_file
    path_masks, flipped = paths.flip_paths(config.flip_paths, config.nodes, config.path_seed)
    loss, _ = evaluate(t.kernel, path_masks.ravel(), config.block_masks)
    steps = config.nodes + 1
    node = flipped.ravel()
    table = tables.mask_rows(t.run_id, path_masks.ravel(), loss, None, leading={
        "path_id": pa.array(np.repeat(np.arange(config.flip_paths, dtype=np.int32), steps)),
        "step": pa.array(np.tile(np.arange(steps, dtype=np.int32), config.flip_paths)),
        "flipped_node": pa.array(node.astype(np.int32), mask=node < 0),
    })
    return [write_file(store, "flip_paths", file_name(t.run_id), table)]


@stage("grid", reads=("dataset", "hidden", "activation", "mask_layers", "label_rule", "grid_size", "grid_extent"))
def input_grid(config, store: Path, t: Trained) -> list[Path]:
    from ingest import tables
    from ingest.kernel import logit_terms
    from ingest.network import logit_difference
    from ingest.store import write_file
    gi, gj, xg = grid.grid_points(config.grid_size, config.grid_extent)
    yg = data.labels_at(config, xg)
    if config.study_shape:
        hidden, contrib, c = logit_terms(t.net, xg)
        d = contrib.sum(axis=1) + c
    else:  # per-unit activations and contributions: one hidden layer only (empty lists)
        hidden = contrib = np.zeros((len(xg), 0), np.float32)
        d = logit_difference(t.net, xg)
    with np.errstate(over="ignore"):  # a far corner's exp(-d) may overflow: p_outside is then 0
        p_outside = 1.0 / (1.0 + np.exp(-d))
    loss, node_grad = pointwise_full(config, t.net, xg, yg)
    return [write_file(store, "input_grid", file_name(t.run_id), tables.grid_rows(
        t.run_id, gi, gj, xg, yg, p_outside, loss, hidden, contrib, node_grad))]


def check_grid(config, t: Trained) -> None:
    """Raise UserError if the trained network is not finite over the grid: checked on its corners
    (each ReLU is linear along a line, so its extremes over the square lie there) before any file
    of the run is written, rather than half-way through."""
    from ingest.errors import UserError
    from ingest.kernel import MaskKernel, logit_terms
    from ingest.network import logit_difference
    e = config.grid_extent
    corners = np.array([[-e, -e], [-e, e], [e, -e], [e, e]])
    if not config.study_shape:  # deeper networks: not piecewise linear on the square; check the grid
        corners = grid.grid_points(config.grid_size, e)[2]
    with np.errstate(all="ignore"):  # an overflow is the answer here, not a warning to print
        if config.study_shape:
            hidden, contrib, c = logit_terms(t.net, corners)
            loss, node_grad = MaskKernel(t.net, corners, data.labels_at(config, corners)).pointwise(
                masks.full(config.nodes))
        else:
            hidden, c = logit_difference(t.net, corners), 0.0
            contrib = hidden
            loss, node_grad = pointwise_full(config, t.net, corners, data.labels_at(config, corners))
    if not all(np.all(np.isfinite(a)) for a in (hidden, contrib, loss, node_grad)) or not np.isfinite(c):
        raise UserError(f"--grid-extent {e:g} gives non-finite activations in network {t.run_id}: choose "
                        f"a smaller extent")


def shard_files(config, store: Path, run_id: int) -> list[Path]:
    """The exhaustive files of one network under the current shard size (never a stale one)."""
    return [store / "mask_exhaustive" / f"{file_name(run_id)}-part-{part:03d}.parquet"
            for part in range(len(exhaustive_shards(config)))]


# The exact marts' inputs: sums over the exhaustive rows (and the study's masks' flips through them).
# Two networks at once: numpy releases the GIL in its array loops, and the stage has no threads of its own.
@stage("summary", reads=("hidden", "mask_layers", "exhaustive", "exhaustive_rows", "shard_masks"),
       uses=("samples", "exhaustive", "exhaustive_regrouped"), threads=2)
def summary_tables(config, store: Path, t: Trained) -> list[Path]:
    import pyarrow.parquet as pq

    from ingest import merge, summary
    from ingest.store import write_file
    name = file_name(t.run_id)
    samples = pq.read_table(store / "mask_samples" / f"{name}.parquet")
    if _aggregate_only(config):  # the units' partial sums, added up
        merged = merge.Merged.read([p for kind in ("part", "regrouped")
                                        for p in aggregate_files(config, store, t.run_id, kind)])
        target = pq.read_table(store / "exhaustive_targets" / f"{name}.parquet")
        return [write_file(store, table, name, rows) for table, rows in
                merge.summarise(t.run_id, config.nodes, merged, target, samples, t.kernel).items()]
    loss = grad = None
    if config.exhaustive:
        loss, grad = summary.read_run(shard_files(config, store, t.run_id), config.nodes)
    return [write_file(store, table, name, rows)
            for table, rows in summary.summarise(t.run_id, loss, grad, samples).items()]


# Exact interactions and the spectrum: fast subset transforms of the run's loss table (ingest/transforms.py).
# Without per-mask rows (--exhaustive-rows none) the 2^N losses are evaluated again, into memory, up
# to N = TRANSFORMS_UP_TO (ingest/config.py); above, the tables are empty: the transforms need the
# whole array at once (2 GB of float64 at N = 28).
@stage("transforms", reads=("hidden", "mask_layers", "exhaustive", "exhaustive_rows", "shard_masks"),
       uses=("exhaustive",), threads=2)
def transform_tables(config, store: Path, t: Trained) -> list[Path]:
    from ingest import summary, transforms
    from ingest.config import TRANSFORMS_UP_TO
    from ingest.kernel import blocks
    from ingest.store import write_file
    loss = None
    if config.exhaustive and config.keeps_rows:
        loss = summary.read_run(shard_files(config, store, t.run_id), config.nodes, grad=False)[0]
    elif config.exhaustive and config.nodes <= TRANSFORMS_UP_TO:
        loss = np.empty(1 << config.nodes, np.float32)
        for lo, hi in blocks(0, len(loss), EXHAUSTIVE_ROWS):
            loss[lo:hi] = t.kernel.evaluate_range(lo, hi)[0]
    return [write_file(store, table, file_name(t.run_id), rows)
            for table, rows in transforms.transform_tables(t.run_id, loss).items()]


# Sampled Shapley and Banzhaf estimators against the exact values (ingest/estimators.py): opt in
# (--estimators), minutes of work; without it, and for the networks it is not asked for, an empty
# file keeps the columns so every view answers.
@stage("estimators", reads=("hidden", "mask_layers", "exhaustive", "estimators", "estimator_runs",
                            "estimator_max_budget", "estimator_repetitions"), uses=("exhaustive",))
def estimator_tables(config, store: Path, t: Trained) -> list[Path]:
    from ingest import estimator_bench, summary
    from ingest.store import write_file
    name = file_name(t.run_id)
    plan = estimator_bench.Plan.of(config)
    if not plan.measures(t.run_id):
        return [write_file(store, "estimator_benchmark", name, estimator_bench.empty_table())]
    loss, grad = summary.read_run(shard_files(config, store, t.run_id), plan.hidden)
    mean_grad = grad.mean(axis=0, dtype=np.float64)  # over every mask: the mean mask gradient at p = ½
    del grad
    grad_full = t.kernel.evaluate(np.array([masks.full(plan.hidden)]))[1][0]
    per_mask = estimator_bench.kernel_seconds_per_mask(t.kernel, plan.hidden)
    table = estimator_bench.benchmark(t.run_id, loss, mean_grad, grad_full, plan.max_budget, plan.repetitions,
                                      per_mask)
    return [write_file(store, "estimator_benchmark", name, table)]
