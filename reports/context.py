"""What every section needs to know about the run it shows, read from the warehouse once: the run,
its keep probabilities and their roles (keep_prob_roles), the study's keep probabilities and kernel
width (study_reference), and whether all 2^N masks were evaluated."""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import altair as alt

from reports import theme
from reports.errors import ReportError
from reports.warehouse import Warehouse


@dataclass
class Context:
    wh: Warehouse
    run: dict
    keep_probs: list[float]
    p_low: float
    p_half: float  # the p nearest ½ (F6, F7, the sanity check's gradient); ties go to the lower p
    p_high: float
    study_probs: list[float]
    kernel_width: float
    has_exhaustive: bool
    config: dict = field(default_factory=dict)
    sweep_page: str = ""  # the sweep page's file name beside this page, for a sweep store (reports/sweep.py)

    @property
    def run_id(self):
        return self.wh.run_id

    @property
    def hidden(self) -> int:
        return int(self.run["hidden"])

    @property
    def layers(self) -> list[int]:
        """The hidden layers' sizes (a store from before deeper networks: one layer of `hidden`)."""
        sizes = self.run.get("layer_sizes")
        return [int(v) for v in sizes] if sizes else [self.hidden]

    @property
    def masked_layers(self) -> list[int]:
        """The masked hidden layers, 1-based."""
        masked = self.run.get("mask_layers")
        return [int(v) for v in masked] if masked else list(range(1, len(self.layers) + 1))

    @property
    def activation(self) -> str:
        return str(self.run.get("activation") or "relu")

    @property
    def one_layer(self) -> bool:
        """One hidden layer of ReLUs: the per-unit logit contributions (test_contribs, logit_bias,
        the grid's contrib) exist, and the views made for one layer apply."""
        return len(self.layers) == 1 and self.activation == "relu"

    def unit_labels(self) -> list[str]:
        """Each masked unit's label, in bit order: 'node i' for one layer, 'L1·3' (layer 1, its unit
        3, both as the store counts them) for deeper networks."""
        if len(self.layers) == 1:
            return [str(i) for i in range(self.hidden)]
        return [f"L{layer}·{unit}" for layer in self.masked_layers for unit in range(self.layers[layer - 1])]

    def unit_label(self, node: int) -> str:
        return self.unit_labels()[node]

    def named(self, node: int) -> str:
        """'node 3' for one hidden layer, 'unit L1·3' for deeper networks."""
        return f"node {node}" if len(self.layers) == 1 else f"unit {self.unit_label(node)}"

    def named_set(self, nodes) -> str:
        """'nodes 3 and 5' for one hidden layer, 'units L1·3 and L2·0' for deeper networks."""
        from reports import fmt
        word = "nodes" if len(self.layers) == 1 else "units"
        return f"{word} {fmt.join(self.unit_label(n) for n in nodes)}"

    def node_axis(self) -> dict:
        """Axis options naming nodes by unit (L1·3) for deeper networks; none for one layer."""
        return {} if len(self.layers) == 1 else {"labelExpr": self.facet_label()}

    def facet_label(self) -> str:
        """Vega expression of a per-node facet's header (datum.value is the node number)."""
        if len(self.layers) == 1:
            return "'node ' + datum.value"
        return json.dumps(self.unit_labels(), ensure_ascii=False) + "[+datum.value]"

    @property
    def n_masks(self) -> int:
        return 2 ** self.hidden

    def p_colour(self, **legend) -> alt.Color:
        colour = theme.p_colour(self.keep_probs, self.study_probs)
        return colour.legend(**legend) if legend else colour


def load_context(wh: Warehouse) -> Context:
    run = wh.run_row("select * from runs where run_id = $run")
    roles = wh.run_frame("select * from keep_prob_roles where run_id = $run order by keep_prob")
    if roles.is_empty():
        raise ReportError(f"run {wh.run_id} has no sampled masks")
    study = wh.frame("select key, keep_prob, value from study_reference")
    width = study.filter(study["key"] == "kernel_width")["value"].to_list()
    if not width or not width[0] or width[0] <= 0:
        raise ReportError("study_reference has no positive kernel_width: rebuild the warehouse")

    def role(name: str) -> float:
        return float(roles.filter(roles[name])["keep_prob"][0])

    exhaustive = wh.run_row("select exists(select 1 from exhaustive_by_size where run_id = $run) as e")
    return Context(
        wh=wh,
        run=run,
        keep_probs=[float(p) for p in roles["keep_prob"]],
        p_low=role("is_lowest"),
        p_half=role("is_nearest_half"),
        p_high=role("is_highest"),
        study_probs=sorted(float(p) for p in study.filter(study["key"] == "study_keep_prob")["keep_prob"]),
        kernel_width=float(width[0]),
        has_exhaustive=bool(exhaustive.get("e")),
        config=json.loads(run["config"]) if run.get("config") else {},
    )
