"""Which neurons matter: exact Shapley and Banzhaf values beside the cheap scores (importance_scores),
and how alike the scores rank the neurons (importance_rank_corr)."""

from __future__ import annotations

import altair as alt
import polars as pl

from reports import fmt
from reports.sections import Section, missing
from reports.vldata import inline

HELPS = "lowers the loss"
HURTS = "raises the loss"
SIGN_COLOURS = alt.Scale(domain=[HELPS, HURTS], range=["#3b6fb6", "#e08a2c"])

QUERIES = {
    "scores": "select * from importance_scores where run_id = $run order by node",
    "rank_corr": "select * from importance_rank_corr where run_id = $run",
    "summary": "select * from importance_summary where run_id = $run",
}


def scores(ctx) -> list[tuple[str, str, str, int]]:
    """(column of importance_scores, panel title — "|" starts a new line —, short name, sign that turns it
    into "loss change from switching the node on": the single-knockout effect is measured the other way)."""
    p = fmt.prob(ctx.p_half)
    return [
        ("shapley", "Shapley value|(exact)", "Shapley", 1),
        ("banzhaf", "Banzhaf value|(exact)", "Banzhaf", 1),
        ("mean_grad_exact", "mean ∂loss/∂on_i|over all masks", "mean gradient, all masks", 1),
        ("mean_grad_sampled", f"mean ∂loss/∂on_i over|the sampled masks, p = {p}", "mean gradient, sampled masks", 1),
        ("grad_full", "∂loss/∂on_i of the|full network", "gradient, full network", 1),
        ("knockout_effect", "single knockout|(switched on last)", "single knockout", -1),
    ]


def node_order(ctx) -> list[int]:
    """Nodes from the most helpful (most negative Shapley value) to the most harmful."""
    return ctx.wh.run_frame(QUERIES["scores"]).sort("shapley", "node")["node"].to_list()


def bars(ctx) -> alt.FacetChart:
    """One panel per score, every score as the loss change from switching the node on."""
    frame = ctx.wh.run_frame(QUERIES["scores"])
    listed = scores(ctx)
    long = pl.concat([
        frame.select("node", pl.lit(title).alias("score"), (sign * pl.col(column)).alias("value"))
        for column, title, _, sign in listed
    ]).drop_nulls("value").with_columns(
        pl.when(pl.col("value") < 0).then(pl.lit(HELPS)).otherwise(pl.lit(HURTS)).alias("switching the node on")
    )
    return (
        alt.Chart(inline(long))
        .mark_bar()
        .encode(
            x=alt.X("value:Q", title=None, axis=alt.Axis(tickCount=3, format="~g")),
            y=alt.Y("node:O", sort=node_order(ctx), title="node (most helpful by Shapley value first)",
                    **({"axis": alt.Axis(**ctx.node_axis())} if ctx.node_axis() else {})),
            color=alt.Color("switching the node on:N", scale=SIGN_COLOURS, legend=alt.Legend(orient="bottom")),
            tooltip=["score:N", "node:O", alt.Tooltip("value:Q", format=".4f")],
        )
        .properties(width=112, height=max(120, 14 * ctx.hidden))
        .facet(column=alt.Column("score:N", sort=[t for _, t, _, _ in listed], title=None,
                                 header=alt.Header(labelFontSize=10, labelExpr="split(datum.value, '|')")),
               spacing=10)
        .resolve_scale(x="independent")
        .properties(title=alt.TitleParams("change in test loss from switching the node on (negative = the node helps)",
                                          fontSize=12, fontWeight="normal", color="#444"))
    )


def rank_matrix(ctx) -> alt.LayerChart:
    """Spearman rank correlation of every pair of scores (lower triangle)."""
    short = {column: name for column, _, name, _ in scores(ctx)}
    order = list(short.values())
    frame = ctx.wh.run_frame(QUERIES["rank_corr"]).select(
        pl.col("score_a").replace_strict(short).alias("a"),
        pl.col("score_b").replace_strict(short).alias("b"),
        "spearman",
    )
    base = alt.Chart(inline(frame)).encode(
        x=alt.X("a:N", sort=order[:-1], title=None, axis=alt.Axis(labelAngle=-30, labelLimit=170)),
        y=alt.Y("b:N", sort=order[1:], title=None, axis=alt.Axis(labelLimit=170)),
    )
    cells = base.mark_rect().encode(
        color=alt.Color("spearman:Q", title="Spearman ρ", scale=alt.Scale(scheme="blueorange", domain=[-1, 1], reverse=True)),
        tooltip=["a:N", "b:N", alt.Tooltip("spearman:Q", format=".3f")],
    )
    text = base.mark_text(fontSize=12).encode(
        text=alt.Text("spearman:Q", format=".2f"),
        color=alt.condition("abs(datum.spearman) > 0.7", alt.value("white"), alt.value("#222")),
    )
    return alt.layer(cells, text).properties(width=330, height=250)


def chart(ctx) -> alt.VConcatChart:
    return alt.vconcat(bars(ctx), rank_matrix(ctx), spacing=24).resolve_scale(color="independent")


def rho_text(name: str, value) -> str:
    """A score's rank correlation with the Shapley values, or why there is none: a score equal for every
    node has no ranking to correlate."""
    if missing(value):
        return f"{name} not defined (it ties every node)"
    return f"{name} {fmt.fixed(value, 2)}"


def bias_words(harmful: int, harmful_bias: int, n_bias_like: int, one_layer: bool) -> str:
    """How many of the `harmful` nodes (positive Shapley value) are bias-like, in words."""
    if not one_layer:
        return "whether a unit is bias-like is a one-layer notion, not defined for this network"
    if not n_bias_like:
        return "no node of this network is bias-like"
    text = (f"all {harmful} are" if harmful > 1 and harmful_bias == harmful
            else f"{harmful_bias} {'is' if harmful_bias == 1 else 'are'}")
    return text + f" bias-like (of {fmt.plural(n_bias_like, 'bias-like node')})"


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["summary"])
    short = {column: name for column, _, name, _ in scores(ctx)}
    rho = {r["score_b"]: r["spearman"] for r in ctx.wh.run_frame(QUERIES["rank_corr"]).iter_rows(named=True)
           if r["score_a"] == "shapley"}
    cheap = fmt.join(rho_text(short[c], rho.get(c)) for c in ("mean_grad_sampled", "grad_full", "knockout_effect"))
    harmful = s["n_raise_loss"]
    bias_text = bias_words(harmful, s["n_raise_loss_bias_like"], s["n_bias_like"], ctx.one_layer)
    best = s["best_cheap_score"]
    verdict = (f"The cheap score that would have told you the truth is the {short[best]} "
               f"(ρ = {fmt.fixed(s['best_cheap_spearman'], 2)})" if best else "No cheap score ranks the nodes at all")
    if ctx.hidden < 2:  # a rank correlation needs two nodes to rank
        ranks = "With one neuron there is nothing to rank, so no Spearman rank correlation is defined. "
        verdict = "No score can be told apart from another"
    else:
        ranks = (f"Spearman rank correlation with the Shapley ranking: {rho_text('Banzhaf', rho.get('banzhaf'))}, "
                 f"{cheap}. ")
    return (
        f"Each panel scores every neuron as the change in test loss from switching it on: exactly, averaged "
        f"over every order of switching nodes on (Shapley) or over every mask of the other nodes (Banzhaf); "
        f"cheaply, by the mask gradient averaged over masks, at the full network alone, or by the single "
        f"knockout (the node switched on last). Shapley top 3: {ctx.named_set(s['top3_nodes'])}; the values "
        f"add up to {fmt.signed(s['shapley_sum'], 4)} = loss(all on) − loss(all off) = "
        f"{fmt.signed(s['loss_all_on_minus_all_off'], 4)}. {harmful} node{'s have' if harmful != 1 else ' has'} a "
        f"positive Shapley value — on average {'they raise' if harmful != 1 else 'it raises'} the loss — and "
        f"{bias_text}. {ranks}{verdict}; the single knockout and the "
        f"full network's gradient only see the neighbourhood of the full network."
    )


def snapshot_chart(ctx) -> alt.FacetChart:
    return bars(ctx)


def section(ctx) -> Section | None:
    if not ctx.has_exhaustive:
        return None
    return Section("importance", "Which neurons matter: Shapley and Banzhaf values against cheap scores",
                   caption(ctx), chart(ctx), nav="importance")
