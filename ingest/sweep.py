"""`--sweep FILE.toml`: a config file plus a `[sweep]` table, one network per point of its product.

    epochs = 20                       # fields outside [sweep]: the base config, as in --config
    [sweep]
    hidden = ["4", "8", "10,10"]      # each key a config field, its value a list of what its flag takes
    dataset = ["circle", "xor"]
    train_seed = [0, 1, 2]

The networks are every combination of the listed values (here 3 × 2 × 3 = 18), in the order the keys
are written, the last key varying fastest. A key must be a field that defines a network (one the
train stage reads, ingest/stages.py): the mask samples, paths, grid and keep probabilities are the
store's, shared by all its networks, so the page can set them side by side. `train_seed` (or
`train_seeds`) lists seeds; without it each combination is trained once per seed of `train_seeds`.
"""
from __future__ import annotations

import dataclasses
import itertools

from ingest import config as cfg
from ingest import data
from ingest.errors import UserError
from ingest.plan import Net, Plan

MAX_NETWORKS = 10_000


def sweepable() -> list[str]:
    from ingest import stages
    return sorted(name for name in stages.STAGES["train"].reads if name not in ("train_data", "test_data", "model"))


def read_axes(table: dict, source: str) -> dict[str, list]:
    """The [sweep] table, each list's values typed as its field's flag takes them: {field: [values]}."""
    if not isinstance(table, dict):
        raise UserError(f"'sweep' in {source} must be a table: [sweep] with one list per config field")
    allowed = sweepable()
    axes: dict[str, list] = {}
    seen: dict[str, str] = {}
    for key, values in table.items():
        name = cfg.canonical(key)
        if name not in allowed:
            known = set(cfg.field_names())
            why = ("not a config field" if name not in known else
                   "it does not define a network (the store's networks share it)")
            raise UserError(f"sweep key {cfg.shown(key)} in {source} cannot be swept: {why}; sweepable: "
                            f"{', '.join(s.replace('train_seeds', 'train_seed') for s in allowed)}")
        if name in seen:
            raise UserError(f"sweep keys {cfg.shown(seen[name])} and {cfg.shown(key)} in {source} both set "
                            f"'{name}': keep one")
        seen[name] = key
        if not isinstance(values, list):
            raise UserError(f"sweep key {cfg.shown(key)} in {source} must be a list of values, got {cfg.shown(values)}")
        if not values:
            raise UserError(f"sweep key {cfg.shown(key)} in {source} is an empty list: give at least one value")
        kind = "int" if name == "train_seeds" else cfg.field_kind(name)
        typed = [cfg.coerce(key, v, kind, from_text=isinstance(v, str) and kind != "str") for v in values]
        if len(set(map(repr, typed))) != len(typed):
            raise UserError(f"sweep key {cfg.shown(key)} in {source} repeats a value: {cfg.shown(values)}")
        axes[name] = typed
    if not axes:
        raise UserError(f"the [sweep] table in {source} is empty: give at least one key with a list of values")
    return axes


def size(axes: dict[str, list], seeds: int) -> int:
    n = seeds if "train_seeds" not in axes else 1
    for values in axes.values():
        n *= len(values)
    return n


def expand(base: dict, axes: dict[str, list], source: str) -> Plan:
    """Every network of the sweep, run ids 0, 1, … in product order (ingest/plan.py makes them
    stable against a store). Each network's config is checked as a whole; a combination that is not
    a valid config is refused in one line naming it."""
    base_config = cfg.build(base)
    seeds = list(base_config.train_seeds)
    total = size(axes, len(seeds))
    if total > MAX_NETWORKS:
        raise UserError(f"the sweep in {source} makes {total:,} networks, more than {MAX_NETWORKS:,}: "
                        "split it into several stores")
    from ingest import stages
    names = list(axes)
    nets: list[Net] = []
    made: set[str] = set()  # networks already in the sweep: a swept field that does not apply repeats one
    resolved: dict[str, object] = {}  # the data (and grid extent) of each combination without its seed
    for combo in itertools.product(*(axes[n] for n in names)):
        params = dict(zip(names, combo))
        combo_seeds = [params["train_seeds"]] if "train_seeds" in params else seeds
        values = {**base, **{k: v for k, v in params.items() if k != "train_seeds"}}
        shape_key = repr(sorted((k, v) for k, v in params.items() if k != "train_seeds"))
        if shape_key not in resolved:
            try:
                group = cfg.build({**values, "train_seeds": tuple(seeds if "train_seeds" not in axes
                                                                  else axes["train_seeds"]),
                                   "estimator_runs": (0,)})
                # a swept label rule applies to the circle's points only: elsewhere it is dropped
                explicit = set(values) - ({"label_rule"} if "label_rule" in axes else set())
                resolved[shape_key] = data.resolve(group, explicit)
            except UserError as exc:
                raise UserError(f"sweep point {describe(params)} of {source}: {exc}") from None
        group = resolved[shape_key]
        for seed in combo_seeds:
            config = dataclasses.replace(group, train_seeds=(seed,), estimator_runs=base_config.estimator_runs)
            identity = repr(sorted(stages.STAGES["train"].inputs(config, 0).items()))
            if identity in made:  # e.g. label_rule = ["code", "intent"] × dataset = ["circle", "xor"]
                continue
            made.add(identity)
            shown_params = {**params, "train_seeds": seed}
            nets.append(Net(len(nets), config, {k.replace("train_seeds", "train_seed"): v
                                                for k, v in shown_params.items()}))
    return Plan(base_config, nets, {k.replace("train_seeds", "train_seed"): v for k, v in axes.items()})


def describe(params: dict) -> str:
    return ", ".join(f"{k.replace('train_seeds', 'train_seed')} = {cfg.shown(v)}" for k, v in params.items())


def read(path, flag_values: dict) -> Plan:
    """The sweep file's plan: its fields outside [sweep], then the flags, as the base config."""
    source = cfg.shown(str(path))
    table = dict(cfg.read_toml(path))
    if "sweep" not in table:
        raise UserError(f"{source} has no [sweep] table: a sweep file is a config file plus [sweep] "
                        "(use --config for a single configuration)")
    axes = read_axes(table.pop("sweep"), source)
    base = {**cfg.from_toml(table, source), **flag_values}
    overlap = [name for name in axes if name in base]
    if overlap:
        raise UserError(f"{', '.join(overlap)} is both swept in {source} and set outside [sweep]: keep one")
    return expand(base, axes, source)
