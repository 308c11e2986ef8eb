"""F4: the density of ∂loss/∂on_i pooled over masks and nodes with dotted normal fits, T2, and the
study's sanity check (the mean gradient against the change of mean loss between keep probabilities)."""

from __future__ import annotations

import altair as alt
from markupsafe import Markup

from reports import dataset, density_charts, fmt, theme
from reports.sections import Section
from reports.tables import table, titled

QUERIES = {
    "grads": "select keep_prob, grad from sample_node_grads where run_id = $run",
    "stats": "select * from grad_stats where run_id = $run order by keep_prob",
    "shape": "select * from grad_peaks where run_id = $run order by keep_prob",
    "sanity": "select * from sanity_vs_study where run_id = $run",
}


def chart(ctx) -> alt.LayerChart:
    curves = density_charts.curves(ctx.wh.run_frame(QUERIES["grads"]), "grad", ctx.kernel_width)
    fits = density_charts.normal_fits(curves, ctx.wh.run_frame(QUERIES["stats"]), "mean_grad", "std_grad")
    colour = ctx.p_colour()
    return alt.layer(density_charts.density_chart(curves, colour, theme.GRAD), density_charts.fit_layer(fits, colour))


def has_sanity(s: dict) -> bool:
    return s.get("ratio") is not None


def shape_text(ctx) -> str:
    """The curves' tails and peaks judged at each p on its own (grad_peaks): the tails by excess kurtosis and
    the share beyond a few standard deviations, the peak against the dotted normal fit's."""
    shape = ctx.wh.run_frame(QUERIES["shape"])
    if shape.is_empty():
        return ""
    rows = shape.to_dicts()
    sigmas, normal = rows[0]["tail_sigmas"], rows[0]["normal_tail_share"]

    by_tails: dict[str, list[float]] = {}
    for r in rows:
        by_tails.setdefault(r["tails"], []).append(r["keep_prob"])
    words = {"heavier": "heavier-tailed than a normal by both measures",
             "lighter": "lighter-tailed than a normal by both measures",
             "mixed": "heavier-tailed by one measure, lighter by the other"}
    if len(by_tails) == 1:
        verdict = next(iter(by_tails))
        tail_text = words[verdict] + (" at every p" if len(rows) > 1 else "")
        if verdict == "lighter":
            tail_text += ", unlike the study's heavy-tailed curves"
        elif verdict == "heavier":
            tail_text += ", as the study found"
    else:
        tail_text = "; ".join(f"{words[v]} at p = {fmt.probs(ps)}" for v, ps in by_tails.items())
    peaked = [r for r in rows if r["more_peaked"]]
    flat = [r for r in rows if r["more_peaked"] is False]

    def peaks(group) -> str:
        return fmt.join(f"{fmt.fixed(r['peak_density'], 2)} against {fmt.fixed(r['normal_peak_density'], 2)}"
                        for r in group)

    parts = []
    if peaked:
        parts.append(f"rises above its dotted normal fit at p = {fmt.probs(r['keep_prob'] for r in peaked)} "
                     f"(peak {peaks(peaked)}: more peaked than a bell curve there)")
    if flat:
        parts.append(f"stays below {'it' if peaked else 'its dotted normal fit'} at "
                     f"p = {fmt.probs(r['keep_prob'] for r in flat)} "
                     f"(peak {peaks(flat)}: flatter-topped)")
    return (
        f" Tails, by one yardstick at every p: excess kurtosis {fmt.join(fmt.signed(r['kurt_grad']) for r in rows)} "
        f"(0 for a normal) and {fmt.join(fmt.pct(r['tail_share'], 2) for r in rows)} of the pairs beyond "
        f"{sigmas:g} standard deviations (a normal: {fmt.pct(normal, 2)}) for p = {fmt.probs(r['keep_prob'] for r in rows)}: "
        f"{tail_text}. Peaks, judged per p: the curve " + " and ".join(parts) + "."
    )


def caption(ctx) -> str:
    s = ctx.wh.run_row(QUERIES["sanity"])
    if has_sanity(s):
        check = (f" Sanity check: {s['scale']:g} × the mean gradient at p = {fmt.prob(s['p_half'])} is "
                 f"{fmt.fixed(s['scaled_mean_grad'], 4)}, the mean loss at p = {fmt.prob(s['p_high'])} minus at "
                 f"p = {fmt.prob(s['p_low'])} is {fmt.fixed(s['loss_difference'], 4)} (ratio {fmt.fixed(s['ratio'], 2)}).")
    else:
        check = (f" The study's sanity check needs two keep probabilities; this run sampled only "
                 f"p = {fmt.probs(ctx.keep_probs)}, so it cannot be made.")
    return (
        f"Density of ∂loss/∂on_i, pooled over the sampled masks and all {ctx.hidden} nodes, with dotted normal "
        f"fits (table T2).{shape_text(ctx)}{check}"
        + density_charts.kernel_note(ctx, ctx.wh.run_frame(QUERIES["stats"])["std_grad"].to_list())
    )


def t2(ctx) -> Markup:
    rows = [
        [fmt.prob(r["keep_prob"]), r["n"], fmt.num(r["mean_grad"]), fmt.num(r["std_grad"]),
         fmt.num(r["mean_grad_log"]), fmt.num(r["std_grad_log"])]
        for r in ctx.wh.run_frame(QUERIES["stats"]).iter_rows(named=True)
    ]
    columns = ["p", "(mask, node) pairs", "mean ∂loss/∂on_i", "std", "mean ∂ln(loss)/∂on_i", "std"]
    return table(columns, rows, table_id="t2", numeric=range(6))


def sanity_table(ctx) -> Markup:
    s = ctx.wh.run_row(QUERIES["sanity"])
    title = "The study's sanity check"
    if not has_sanity(s):
        return titled(title, note=f"The check compares the mean loss at two keep probabilities with the mean "
                                  f"gradient between them; this run sampled only p = {fmt.probs(ctx.keep_probs)}.")
    scale_note = "" if s["study_scale"] is None or s["study_scale"] == s["scale"] or not dataset.is_study_setting(ctx) \
        else f"; the study's: {s['study_scale']:g}"
    rows = [
        [f"mean gradient at p = {fmt.prob(s['p_half'])} (pooled over nodes)",
         fmt.num(s["mean_grad_half"]), fmt.num(s["study_mean_grad_half"])],
        [f"× N × (highest p − lowest p) = {s['scale']:g}{scale_note}",
         fmt.num(s["scaled_mean_grad"]), fmt.num(s["study_scaled_mean_grad"])],
        [f"mean loss at p = {fmt.prob(s['p_high'])} minus at p = {fmt.prob(s['p_low'])}",
         fmt.num(s["loss_difference"]), fmt.num(s["study_loss_difference"])],
        ["ratio", fmt.num(s["ratio"], 3), fmt.num(s["study_ratio"], 3)],
    ]
    if s["same_probs_as_study"] and dataset.is_study_setting(ctx):
        return titled(title, table(["sanity check", "this run", "study"], rows, table_id="sanity", numeric={1, 2}))
    note = (dataset.not_applicable(ctx) if not dataset.is_study_setting(ctx) else
            f"The study made its check between p = {fmt.prob(s['study_p_low'])} and {fmt.prob(s['study_p_high'])} "
            f"with the gradient at p = {fmt.prob(s['study_p_half'])}; this run's keep probabilities differ, so the "
            f"study's numbers are not set beside its own.")
    return titled(title, table(["sanity check", "this run"], [row[:2] for row in rows], table_id="sanity",
                               numeric={1}), note)


def section(ctx) -> Section:
    return Section("f4", "F4 Gradient of the loss with respect to each neuron's switch", caption(ctx), chart(ctx),
                   after=titled("T2 Gradients per keep probability", t2(ctx)) + sanity_table(ctx))
