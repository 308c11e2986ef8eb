"""Exact interactions: which pairs of neurons work together and which cover for each other (the pairwise
Shapley interaction index, shapley_interactions), how much of the loss over masks is additive, pairwise
or of higher order (spectrum_by_order), and the largest Möbius terms of each order (mobius_terms)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import fmt
from reports.sections import Section, missing
from reports.sections.importance import node_order
from reports.tables import table, titled
from reports.vldata import inline

QUANTITY_NAMES = {"loss": "loss", "log_loss": "log loss"}
QUANTITY_COLOURS = ["#4c78a8", "#f58518"]
# The Möbius table lists this many of the largest terms of each order.
TERMS_PER_ORDER = 3
CELL = 17  # px per node in the heat map: 20 nodes and the spectrum beside it fit a 1024 px window
# The colour bar is as wide as the map less its labels, but never shorter than this (N = 1, 2: a
# width of N cells less 40 px would be negative, which Vega-Lite refuses; N = 3: too short to see)
MIN_GRADIENT = 24

QUERIES = {
    "interactions": "select i, j, value from shapley_interactions where run_id = $run order by i, j",
    "present": "select exists(select 1 from spectrum_by_order where run_id = $run) as e",
    "spectrum": 'select quantity, "order", share from spectrum_by_order where run_id = $run order by quantity, "order"',
    "terms": """
        select "order", nodes, value, rank_in_order from mobius_terms
        where run_id = $run and rank_in_order <= $terms order by "order", rank_in_order
    """,
    "summary": "select * from interaction_summary where run_id = $run",
    "groups": "select * from interaction_groups where run_id = $run",
    "bias_like": "select node from node_directions where run_id = $run and bias_like order by node",
}
BIAS_LIKE_COLOUR = "#8c510a"
PAIR_KINDS = {"bias-like with cutting": "pairs of a bias-like and a cutting node",
              "bias-like": "pairs of bias-like nodes", "cutting": "pairs of cutting nodes"}


def heat_map(ctx) -> alt.Chart:
    """The pairwise interaction index of every two nodes, both orders of the pair; the diagonal is empty."""
    order = node_order(ctx)
    frame = ctx.wh.run_frame(QUERIES["interactions"])
    # bias-like nodes' numbers in brown on both axes (F10 names them)
    bias = ctx.wh.run_frame(QUERIES["bias_like"])["node"].to_list()
    label_colour = {"condition": {"test": f"indexof({bias}, +datum.value) >= 0", "value": BIAS_LIKE_COLOUR},
                    "value": "#333"}
    # a symmetric domain puts white exactly at 0, whichever sign reaches further
    reach = float(frame["value"].abs().max() or 1.0)
    return (
        alt.Chart(inline(frame, significant=6))
        .mark_rect()
        .encode(
            x=alt.X("j:O", sort=order, title="node j (brown: bias-like)",
                    axis=alt.Axis(labelAngle=0, labelFontSize=9, labelColor=label_colour, **ctx.node_axis())),
            y=alt.Y("i:O", sort=order, title="node i (most helpful by Shapley value first)",
                    axis=alt.Axis(labelFontSize=9, labelColor=label_colour, **ctx.node_axis())),
            color=alt.Color(
                "value:Q",
                scale=alt.Scale(scheme="blueorange", domain=[-reach, reach], domainMid=0),
                legend=alt.Legend(
                    orient="bottom", direction="horizontal", gradientLength=max(CELL * ctx.hidden - 40, MIN_GRADIENT),
                    title=["interaction index (loss)",
                           "− synergy: the pair lowers the loss more together · + redundancy: each covers for the other"],
                    titleLimit=CELL * ctx.hidden + 160,
                ),
            ),
            tooltip=["i:O", "j:O", alt.Tooltip("value:Q", format="+.4f", title="interaction index")],
        )
        .properties(width=CELL * ctx.hidden, height=CELL * ctx.hidden,
                    title=alt.TitleParams("pairwise Shapley interaction index", fontSize=12, fontWeight="normal"))
    )


def spectrum(ctx) -> alt.Chart:
    """The share of the variance over masks in each order of the Walsh–Fourier expansion, loss and log loss."""
    frame = ctx.wh.run_frame(QUERIES["spectrum"]).with_columns(
        pl.col("quantity").replace_strict(QUANTITY_NAMES).alias("of"))
    names = list(QUANTITY_NAMES.values())
    return (
        alt.Chart(inline(frame))
        .mark_bar()
        .encode(
            x=alt.X("order:O", title="order (1 = additive in the nodes, 2 = pairwise, …)",
                    axis=alt.Axis(labelAngle=0, labelFontSize=9)),
            xOffset=alt.XOffset("of:N", sort=names),
            y=alt.Y("share:Q", title="share of the variance over all masks", axis=alt.Axis(format="%"),
                    scale=alt.Scale(domain=[0, 1])),
            color=alt.Color("of:N", sort=names, scale=alt.Scale(domain=names, range=QUANTITY_COLOURS),
                            legend=alt.Legend(orient="bottom", title="share of the variance of")),
            tooltip=["of:N", "order:O", alt.Tooltip("share:Q", format=".2%")],
        )
        .properties(width=330, height=CELL * ctx.hidden,
                    title=alt.TitleParams("how additive: the spectrum by order", fontSize=12, fontWeight="normal"))
    )


def chart(ctx) -> alt.HConcatChart:
    return alt.hconcat(heat_map(ctx), spectrum(ctx), spacing=36).resolve_scale(color="independent")


def nodes_text(ctx, nodes) -> str:
    return fmt.join(ctx.unit_label(n) for n in nodes)


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])

    def pair(kind: str) -> str:
        return f"{ctx.named_set([s[kind + '_i'], s[kind + '_j']])} ({fmt.signed(s[kind + '_value'], 3)})"

    def share(value) -> str:
        return "not defined" if missing(value) else fmt.pct(value, 1)

    def shares(order: str) -> str:
        return f"{share(s[order + '_share_loss'])} and {share(s[order + '_share_log_loss'])}"

    def spectrum_text() -> str:
        if missing(s["additive_share_loss"]) and missing(s["additive_share_log_loss"]):
            return ("no share is defined: neither the loss nor the log loss varies over the masks, so there is no "
                    "variance to divide among the orders")
        # with N nodes there are terms of order 1 … N only: order 2 needs two nodes, order 3 three
        parts = [f"additive in the neurons {shares('additive')}"]
        if ctx.hidden >= 2:
            parts.append(f"pairwise {shares('pairwise')}")
        if ctx.hidden >= 3:
            parts.append(f"order three and above {shares('higher')}")
        text = ", ".join(parts)
        if ctx.hidden < 3:
            text += (f" (with {fmt.plural(ctx.hidden, 'neuron')} there is no term of order "
                     f"{'two or more' if ctx.hidden < 2 else 'three or more'}, so that share is not defined)")
        return text

    groups = {r["pair_kind"]: r for r in ctx.wh.run_frame(QUERIES["groups"]).iter_rows(named=True)}
    kinds = "; ".join(
        f"{PAIR_KINDS[kind]}: {groups[kind]['n_synergy']} of {groups[kind]['n_pairs']} synergistic, mean "
        f"{fmt.signed(groups[kind]['mean_value'], 3)}" for kind in PAIR_KINDS if kind in groups)
    kinds = (f" By kind of node (the bias-like nodes of F10 have brown numbers, the others cut the plane): "
             f"{kinds}." if kinds else "")
    if ctx.hidden < 2 or not s.get("n_pairs"):
        pairs_text = (f"With {fmt.plural(ctx.hidden, 'neuron')} there is no pair, so no interaction index is "
                      f"defined and the map is empty.")
    else:
        pairs_text = (f"{s['n_synergy_pairs']} of the {s['n_pairs']} pairs are synergistic; the strongest synergy "
                      f"is {pair('synergy')}, the strongest redundancy {pair('redundancy')}.")
    top3 = (f" The largest order-3 Möbius term: {ctx.named_set(s['top_order3_nodes'])} "
            f"({fmt.signed(s['top_order3_value'], 3)})." if s.get("top_order3_nodes") else "")
    return (
        f"Left: the pairwise Shapley interaction index of every two neurons, exactly, from all {ctx.n_masks:,} "
        f"masks, the value of a set of neurons being the test loss of the subnetwork it keeps; neurons ordered "
        f"as in the importance figure above, most helpful first. Negative (blue) is synergy: the pair lowers the "
        f"loss more together than the two do apart. Positive (orange) is redundancy: each covers for the other, "
        f"so the second adds less. {pairs_text}{kinds} Right: how "
        f"additive the network is under knockout — the share of the variance over all masks (each equally "
        f"likely) in the Walsh–Fourier terms of each order, for the loss and the log loss: "
        f"{spectrum_text()}.{top3} The table lists the largest Möbius (Harsanyi) terms of each order: what a set "
        f"of neurons adds to the loss together beyond all its subsets."
    )


def terms_table(ctx):
    rows = [[r["order"], nodes_text(ctx, r["nodes"]), fmt.num(r["value"], sign=True), r["rank_in_order"]]
            for r in ctx.wh.run_frame(QUERIES["terms"], {"terms": TERMS_PER_ORDER}).iter_rows(named=True)]
    return table(["order", "nodes" if len(ctx.layers) == 1 else "units", "Möbius coefficient (loss)",
                  "rank by size in its order"], rows,
                 table_id="mobius-table", numeric={0, 2, 3})


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    if not ctx.wh.run_row(QUERIES["present"]).get("e"):
        # aggregate-only enumeration of a large N: sums over the masks, but no table of all their losses
        return Section("interactions", "Exact interactions: synergy, redundancy and how additive the network is",
                       f"Left out for this run: it enumerated all {ctx.n_masks:,} masks without keeping their "
                       f"rows (--exhaustive-rows {ctx.config.get('exhaustive_rows', 'none')} at N = {ctx.hidden}), and "
                       f"the pairwise interactions, the spectrum and the Möbius terms are transforms of the whole "
                       f"table of 2^N losses at once, which such a run does not hold at this N (store/README.md). "
                       f"Every other exact section is built from sums over the masks and is complete.",
                       nav="interactions")
    return Section("interactions", "Exact interactions: synergy, redundancy and how additive the network is",
                   caption(ctx), chart(ctx), nav="interactions",
                   after=titled(f"The largest Möbius terms of each order (the {TERMS_PER_ORDER} largest by size)",
                                terms_table(ctx)))
