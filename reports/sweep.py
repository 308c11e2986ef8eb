"""The sweep page, `sweep.html` beside the main page: every network of a sweep store compared, from
the marts alone — each headline statistic against the number of masked units (sweep_trends: the mean
over seeds as a line, their lowest to highest as a band, one colour per kind of network) and, for each
of the study's findings, at which widths it holds for every seed (sweep_findings).

A store is a sweep when its networks differ in more than their training seed (dataset, layers,
activation or masked layers); a store of one network per seed has no sweep page."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import polars as pl
from markupsafe import Markup, escape

from reports import fmt, theme
from reports.bundle import vega_bundle
from reports.htmltools import json_script
from reports.page import HERE, STYLE
from reports.sections import Section
from reports.tables import table
from reports.templating import ENV
from reports.vldata import inline

PAGE = "sweep.html.j2"
KINDS = ("select count(distinct (dataset, layer_sizes, activation, mask_layers)) from runs")

# run_summary's statistics on the page, in order: (column, title, what it says)
STATISTICS = [
    ("test_loss", "full network's test loss", "the loss with every unit on"),
    ("exact_mean_loss_half", "E[loss] at p = ½", "the exact mean test loss over all masks, each unit kept with probability ½"),
    ("exact_mean_log_loss_half", "E[ln loss] at p = ½", "the same for the log loss"),
    ("skew_loss_half", "skewness of the loss at p = ½", "positive: a long right tail (F2)"),
    ("skew_log_loss_half", "skewness of ln(loss) at p = ½", "near 0: log-normal loss (F3)"),
    ("sanity_ratio", "sanity ratio", "the gradient's prediction of the loss change over the actual change (F4); 1 is exact"),
    ("complement_corr", "complement correlation", "of a mask's log loss with its complement's, over all masks (F9)"),
    ("decay_length_exact", "path decay length (flips)", "first k at which the exact path correlation is insignificant (F9)"),
    ("shapley_top3_share", "Shapley share of the top 3", "share of Σ|φ| held by the three most important units"),
    ("shapley_gini", "Shapley Gini", "Gini coefficient of |φ|: 0 all equal, 1 one unit holds all"),
    ("smallest_share_within_10pct", "smallest subnetwork within 10%", "fewest units whose best subnetwork loses at most 10% more than the full network, as a share of all units"),
    ("n_bias_like", "bias-like units", "units whose map acts as a bias (F10; one hidden layer of ReLUs only)"),
]

# sweep_findings' findings, in words: (finding, the study's claim)
FINDINGS = [
    ("right_skew", "right skew (F2)", "the loss is skewed right at p = ½ (F2)"),
    ("log_normal", "log-normal (F3)", "ln(loss) is less skewed than the loss at p = ½: log-normal is a good approximation (F3)"),
    ("sanity", "sanity check (F4)", "the gradient predicts the change of mean loss, ratio within {sanity_ratio_low:g}–{sanity_ratio_high:g} (F4)"),
    ("decay", "path decay (F9)", "the path correlation is insignificant within 6 flips (F9)"),
    ("complement", "complement (F9)", "a mask's log loss correlates positively with its complement's (F9)"),
    ("bias_like", "bias-like units (F10)", "some neurons act as biases (F10)"),
]


def is_sweep(con) -> bool:
    return con.execute(KINDS).fetchone()[0] > 1


def frame(con, sql: str) -> pl.DataFrame:
    return con.execute(sql).pl()


def kind_label(dataset: str, depth: int, activation: str) -> str:
    layers = "1 layer" if depth == 1 else f"{depth} layers"
    return f"{dataset} · {layers} · {activation}"


def trends_chart(trends: pl.DataFrame) -> alt.FacetChart:
    titles = {column: title for column, title, _ in STATISTICS}
    data = (trends.filter(pl.col("statistic").is_in(list(titles)))
            .with_columns(pl.col("statistic").replace_strict(titles).alias("title"),
                          pl.struct("dataset", "depth", "activation")
                          .map_elements(lambda r: kind_label(r["dataset"], r["depth"], r["activation"]),
                                        return_dtype=pl.String).alias("network"))
            .select("title", "network", "n_units", "mean", "lowest", "highest", "n_networks"))
    colour = alt.Color("network:N", title="networks (line: mean over seeds; band: lowest to highest)",
                       legend=alt.Legend(orient="bottom", symbolOpacity=1, labelLimit=400, titleLimit=600))
    widths = sorted(set(data["n_units"].to_list()))
    x = alt.X("n_units:Q", title="masked units N", scale=alt.Scale(domain=[widths[0], widths[-1]], nice=False),
              axis=alt.Axis(values=widths, format="d"))
    base = alt.Chart().encode(x=x, color=colour)
    band = base.mark_area(opacity=0.18).encode(y=alt.Y("lowest:Q", title=None, scale=alt.Scale(zero=False)),
                                                y2="highest:Q")
    line = base.mark_line(point=True).encode(
        y=alt.Y("mean:Q", title=None, scale=alt.Scale(zero=False)),
        tooltip=["network:N", "n_units:Q", alt.Tooltip("mean:Q", format=".4g"), alt.Tooltip("lowest:Q", format=".4g"),
                 alt.Tooltip("highest:Q", format=".4g"), "n_networks:Q"])
    order = [title for _, title, _ in STATISTICS if title in set(data["title"].to_list())]
    return (alt.layer(band, line, data=inline(data, significant=6))
            .properties(width=260, height=170)
            .facet(facet=alt.Facet("title:N", title=None, sort=order, header=alt.Header(labelFontSize=12)),
                   columns=3)
            .resolve_scale(y="independent"))


def widths_text(widths: list[int]) -> str:
    return "N = " + fmt.join(str(w) for w in widths)


def finding_sentences(findings: pl.DataFrame, limits: dict) -> list[str]:
    """Per finding and kind of network: holds at every width, at none, or at which."""
    out = []
    for finding, _, claim in FINDINGS:
        claim = claim.format(**limits)
        rows = findings.filter(pl.col("finding") == finding)
        parts = []
        for key, group in rows.group_by("dataset", "depth", "activation", maintain_order=True):
            group = group.sort("n_units")
            judged = group.filter(pl.col("n_judged") > 0)
            label = kind_label(*key)
            if judged.height == 0:
                parts.append(f"{label}: not defined")
                continue
            every = judged.filter(pl.col("n_holding") == pl.col("n_judged"))["n_units"].to_list()
            some = judged.filter((pl.col("n_holding") > 0) & (pl.col("n_holding") < pl.col("n_judged")))["n_units"].to_list()
            none = judged.filter(pl.col("n_holding") == 0)["n_units"].to_list()
            undefined = group.filter(pl.col("n_judged") == 0)["n_units"].to_list()
            if len(every) == judged.height:
                text = "holds for every network at every width" + (" where it is defined" if undefined else "")
            elif not every and not some:
                text = "holds for no network"
            else:
                bits = ([f"for every seed at {widths_text(every)}"] if every else []) + (
                    [f"for some seeds at {widths_text(some)}"] if some else [])
                text = f"holds {' and '.join(bits)}" + (f", for none at {widths_text(none)}" if none else "")
            if undefined:
                text += f" (not defined at {widths_text(undefined)})"
            parts.append(f"{label}: {text}")
        out.append(f"{claim[0].upper()}{claim[1:]} — {'; '.join(parts)}.")
    return out


def findings_table(findings: pl.DataFrame) -> Markup:
    widths = sorted(set(findings["n_units"].to_list()))
    rows = []
    for finding, short, _ in FINDINGS:
        groups = findings.filter(pl.col("finding") == finding).group_by(
            "dataset", "depth", "activation", maintain_order=True)
        for i, (key, group) in enumerate(groups):
            cells = {r["n_units"]: r for r in group.iter_rows(named=True)}
            row = [short if i == 0 else "", kind_label(*key)]
            for w in widths:
                r = cells.get(w)
                row.append("" if r is None else ("n/a" if r["n_judged"] == 0 else f"{r['n_holding']}/{r['n_judged']}"))
            rows.append(row)
    return table(["finding (study figure)", "networks", *[f"N = {w}" for w in widths]], rows,
                 table_id="sweep-findings", numeric=set(range(2, 2 + len(widths))))


def render(con, main_page: str = "index.html") -> tuple[str, list[Section]]:
    summary = frame(con, "select * from run_summary order by run_id")
    trends = frame(con, "select * from sweep_trends")
    findings = frame(con, "select * from sweep_findings")
    limits = dict(con.execute("select key, value from study_reference where key like 'sanity_ratio_%'").fetchall())
    kinds = summary.group_by("dataset", "depth", "activation").agg(
        pl.col("n_units").unique().sort(), pl.col("train_seed").n_unique().alias("seeds"), pl.len().alias("n"))
    kinds_text = "; ".join(
        f"{kind_label(r['dataset'], r['depth'], r['activation'])}: {fmt.plural(r['n'], 'network')} "
        f"({widths_text(r['n_units'])}, {fmt.plural(r['seeds'], 'seed')} each)"
        for r in kinds.sort("dataset", "depth", "activation").iter_rows(named=True))
    stats_text = " ".join(f"{title[0].upper()}{title[1:]}: {what}." for _, title, what in STATISTICS)
    trends_section = Section(
        "trends", "Each statistic against the number of masked units",
        caption=(f"One panel per statistic of run_summary, against the number of masked units N; a line per kind "
                 f"of network joins the means over its seeds, the band spans their lowest to highest value. "
                 f"{stats_text}"),
        chart=trends_chart(trends))
    findings_section = Section(
        "findings", "Which of the study's findings hold at every width",
        body=Markup("".join(f"<p>{escape(s)}</p>" for s in finding_sentences(findings, limits))),
        caption=("Each cell: of the networks of that kind and width (one per seed), how many show the finding "
                 "(n/a: not defined for that network). Rules as in the view sweep_findings."),
        after=findings_table(findings))
    built = [findings_section, trends_section]
    title = f"{fmt.plural(summary.height, 'network')} in one store"
    text = ENV.get_template(PAGE).render(
        page_title=title, main_page=main_page, lede=f"This store holds a sweep: {kinds_text}. Everything below is read from the "
                               f"warehouse's marts run_summary, sweep_trends and sweep_findings.",
        figures=built,
        vega_specs=json_script("vega-specs", {s.chart_id: theme.spec(s.chart) for s in built if s.chart is not None}),
        style=Markup(STYLE.read_text(encoding="utf-8")),
        vega_bundle=Markup(vega_bundle()),
        scripts=[Markup((HERE / "embed.js").read_text(encoding="utf-8")),
                 Markup((HERE / "sort.js").read_text(encoding="utf-8"))],
    )
    return text, built


def page_path(main_page: Path) -> Path:
    """sweep.html beside the main page (sweep-networks.html if the main page is itself sweep.html)."""
    main_page = Path(main_page)
    return main_page.parent / ("sweep-networks.html" if main_page.name == "sweep.html" else "sweep.html")
