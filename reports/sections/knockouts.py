"""Single knockouts: the test loss with each neuron alone off and alone on, as a sortable table."""

from __future__ import annotations

from reports import fmt
from reports.sections import Section
from reports.tables import table

QUERIES = {
    "ranking": "select * from knockout_ranking where run_id = $run order by node",
    "summary": "select * from knockout_summary where run_id = $run",
}


def knockout_table(ctx):
    deep = len(ctx.layers) > 1  # a unit column, L1·3, beside the bit number
    rows = [
        [r["node"], *([ctx.unit_label(r["node"])] if deep else []), fmt.num(r["loss_only_off"]),
         fmt.num(r["knockout_effect"], sign=True), fmt.num(r["loss_only_on"]), r["harm_rank"]]
        for r in ctx.wh.run_frame(QUERIES["ranking"]).iter_rows(named=True)
    ]
    columns = ["node", *(["unit"] if deep else []), "loss, only this node off", "change vs all on",
               "loss, only this node on", "harm rank"]
    numeric = [0, 2, 3, 4, 5] if deep else range(5)
    return table(columns, rows, table_id="knockout-table", numeric=numeric, sortable=True)


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    if not s.get("n_nodes"):
        return "No single-knockout losses are stored for this run."
    return (
        f"Test loss with only this node switched off (all others on), and with only this node on (all others off; "
        f"with every node off the loss is {fmt.fixed(s['loss_all_off'], 4)}). Switching one node off raises the "
        f"loss for {s['n_raise_loss']} of the {s['n_nodes']} nodes: most for {ctx.named(s['most_harmful_node'])} "
        f"({fmt.signed(s['most_harmful_effect'], 4)}), least for {ctx.named(s['least_harmful_node'])} "
        f"({fmt.signed(s['least_harmful_effect'], 4)}). Click a column heading to sort."
    )


def section(ctx) -> Section:
    return Section("knockouts", "Single knockouts: each neuron alone off, alone on", caption(ctx),
                   body=knockout_table(ctx))
