"""The networks of a run: each with its run id and its own config.

A plain run trains one network per seed of `train_seeds`, run ids 0, 1, … in that order, all with the
same config. A sweep (ingest/sweep.py) trains one network per point of a product of config values;
its networks keep their run ids from one run to the next (matched by what the network is made of,
its training fingerprint), so that adding values to a sweep computes only the new networks.

Every network's config has `train_seeds` = (its own seed,): the stages read one network's config.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Net:
    run_id: int
    config: object  # ingest.config.Config with train_seeds = (this network's seed,)
    params: dict = field(default_factory=dict)  # the sweep's values of this network ({} for a plain run)

    @property
    def seed(self) -> int:
        return self.config.train_seeds[0]


@dataclass
class Plan:
    config: object  # the run's config: for a sweep, its base (the file's fields without [sweep])
    nets: list[Net]
    sweep: dict = field(default_factory=dict)  # {field: [values]} of a sweep; {} for a plain run

    @property
    def is_sweep(self) -> bool:
        return bool(self.sweep)

    def by_id(self) -> dict[int, Net]:
        return {net.run_id: net for net in self.nets}

    def run_configs(self) -> dict[int, str]:
        """Each network's whole config as JSON (a plain run's networks share the run's, seeds and all)."""
        if not self.is_sweep:
            return {net.run_id: self.config.to_json() for net in self.nets}
        return {net.run_id: net.config.to_json() for net in self.nets}

    def describe(self) -> str:
        """The sweep in one line, for the manifest and the warehouse: {field: [values]}."""
        return json.dumps({k: list(v) for k, v in self.sweep.items()}, default=str)


def plain(config) -> Plan:
    return Plan(config, [Net(run_id, dataclasses.replace(config, train_seeds=(seed,)))
                         for run_id, seed in enumerate(config.train_seeds)])


def assign_ids(plan: Plan, known: dict[str, int], identity) -> Plan:
    """A sweep's networks with stable run ids: a network whose identity (its training fingerprint)
    the store already holds under some run id keeps that id; new networks take the lowest free ids,
    in the sweep's order."""
    if not plan.is_sweep:
        return plan
    ids: dict[int, int] = {}
    taken: set[int] = set()
    for i, net in enumerate(plan.nets):
        run_id = known.get(identity(net))
        if run_id is not None and run_id not in taken:
            ids[i] = run_id
            taken.add(run_id)
    free = (n for n in range(len(plan.nets) + len(taken) + 1) if n not in taken)
    nets = []
    for i, net in enumerate(plan.nets):
        run_id = ids[i] if i in ids else next(free)
        nets.append(dataclasses.replace(net, run_id=run_id))
    return Plan(plan.config, sorted(nets, key=lambda n: n.run_id), plan.sweep)
