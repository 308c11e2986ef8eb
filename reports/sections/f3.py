"""F3: the density of the log loss at each keep probability with dotted best-fit normals, and T1."""

from __future__ import annotations

import altair as alt

from reports import density_charts, fmt, theme
from reports.sections import Section
from reports.sections.f2 import skew_text
from reports.tables import table, titled

QUERIES = {
    "samples": "select keep_prob, log_loss from mask_samples where run_id = $run order by keep_prob, sample_id",
    "stats": "select * from loss_stats where run_id = $run order by keep_prob",
    "shape": "select keep_prob, skew_loss, skew_log_loss from sample_shape where run_id = $run order by keep_prob",
}


def chart(ctx) -> alt.LayerChart:
    curves = density_charts.curves(ctx.wh.run_frame(QUERIES["samples"]), "log_loss", ctx.kernel_width)
    fits = density_charts.normal_fits(curves, ctx.wh.run_frame(QUERIES["stats"]), "mean_log_loss", "std_log_loss")
    colour = ctx.p_colour()
    return alt.layer(density_charts.density_chart(curves, colour, theme.LOG_LOSS),
                     density_charts.fit_layer(fits, colour))


def caption(ctx) -> str:
    shape = ctx.wh.run_frame(QUERIES["shape"])
    if shape["skew_log_loss"].null_count() or shape["skew_loss"].null_count():
        ns = ctx.wh.run_frame(QUERIES["stats"])["n"].to_list()
        skews = (f"its skewness would be 0. "
                 f"{skew_text(ctx.keep_probs, shape['skew_log_loss'].to_list(), ns, 'log loss', 'The skewness of ln(loss)', False)} "
                 f"{skew_text(ctx.keep_probs, shape['skew_loss'].to_list(), ns, 'loss', 'That of the loss itself', False)}")
    else:
        skews = (f"the skewness of ln(loss) is {fmt.join(fmt.signed(v) for v in shape['skew_log_loss'])}, against "
                 f"{fmt.join(fmt.signed(v) for v in shape['skew_loss'])} for the loss itself (0 for a normal; "
                 f"p = {fmt.probs(ctx.keep_probs)}).")
    return (
        f"Density of ln(loss) at each p, with the best-fit normal curve dotted (its mean and standard deviation "
        f"are table T1). If the loss were log-normal each curve would be a bell: {skews}"
        + density_charts.kernel_note(ctx, ctx.wh.run_frame(QUERIES["stats"])["std_log_loss"].to_list())
    )


def t1(ctx):
    rows = [
        [fmt.prob(r["keep_prob"]), r["n"], fmt.num(r["mean_loss"]), fmt.num(r["std_loss"]),
         fmt.num(r["mean_log_loss"]), fmt.num(r["std_log_loss"]), r["distinct_masks"], r["all_on_count"]]
        for r in ctx.wh.run_frame(QUERIES["stats"]).iter_rows(named=True)
    ]
    columns = ["p", "masks", "mean loss", "std loss", "mean log loss", "std log loss", "distinct masks", "all-on masks"]
    return table(columns, rows, table_id="t1", numeric=range(8))


def section(ctx) -> Section:
    return Section("f3", "F3 Probability density of the log loss", caption(ctx), chart(ctx),
                   after=titled("T1 Loss and log loss per keep probability", t1(ctx)))
