"""Every number the page shows, read back from the rendered HTML and compared with the warehouse to the
rounding the page displays: one check per section of the page template, so a section added without a
check fails `test_every_section_has_a_check`."""
from __future__ import annotations

import html
import re

import numpy as np
import polars as pl
import pytest

from reports import page as report_page
from reports.build import build_report

RUN = 0
NUMBER = r"[−+-]?\d[\d,]*(?:\.\d+)?"


# --- reading the page ---------------------------------------------------------------------------------

def text_of(fragment: str) -> str:
    """Visible text: tags dropped, entities decoded, whitespace collapsed."""
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", fragment))).strip()


class Page:
    def __init__(self, source: str):
        self.source = source
        self.sections = dict(re.findall(r'<section id="([^"]+)">(.*?)</section>', source, re.S))
        self.header = re.search(r"<header>(.*?)</header>", source, re.S).group(1)

    def caption(self, anchor: str) -> str:
        body = self.header if anchor == "header" else self.sections[anchor]
        return text_of(re.search(r'<p class="caption">(.*?)</p>', body, re.S).group(1))

    def title(self, anchor: str) -> str:
        return text_of(re.search(r"<h2>(.*?)</h2>", self.sections[anchor], re.S).group(1))

    def table(self, table_id: str) -> tuple[list[str], list[list[str]]]:
        found = re.search(rf'<table id="{table_id}"[^>]*>(.*?)</table>', self.source, re.S).group(1)
        head = [text_of(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", found, re.S)]
        body = re.search(r"<tbody>(.*?)</tbody>", found, re.S).group(1)
        rows = [[text_of(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)]
                for r in re.findall(r"<tr>(.*?)</tr>", body, re.S)]
        return head, rows


def numbers(text: str) -> list[str]:
    return re.findall(NUMBER, text)


def value_of(shown: str) -> float:
    return float(shown.replace("−", "-").replace(",", "").rstrip("%"))


def shows(shown: str, value, percent: bool = False) -> bool:
    """Whether the displayed text is `value` rounded as displayed (a share as a percentage if `percent`)."""
    if value is None:
        return shown == "—"
    decimals = len(shown.split(".")[1].rstrip("%")) if "." in shown else 0
    want = 100 * float(value) if percent else float(value)
    return abs(value_of(shown) - want) <= 0.5 * 10**-decimals * (1 + 1e-9) + 1e-12


def assert_shows(text: str, pattern: str, *values, percent: bool = False):
    """The numbers matched by the groups of `pattern` in `text` are `values`, as rounded on the page."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in: {text}"
    shown = [g for g in match.groups() if g is not None]
    assert len(shown) == len(values), (shown, values)
    for s, v in zip(shown, values):
        assert shows(s, v, percent), f"{s} is not {v} ({pattern!r})"


def assert_list(text: str, pattern: str, values, percent: bool = False):
    """The group of `pattern` is a list "a, b and c" of `values`."""
    match = re.search(pattern, text)
    assert match, f"{pattern!r} not in: {text}"
    shown = numbers(match.group(1))
    assert len(shown) == len(values), (shown, values)
    for s, v in zip(shown, values):
        assert shows(s, v, percent), f"{s} is not {v} in {match.group(0)!r}"


def assert_table(rows: list[list[str]], expected: list[list], percent_columns: set[int] = frozenset()):
    assert len(rows) == len(expected)
    for row, want in zip(rows, expected):
        assert len(row) == len(want)
        for i, (cell, value) in enumerate(zip(row, want)):
            if isinstance(value, str):
                assert cell == value, (cell, value)
            else:
                assert shows(cell, value, i in percent_columns), (row, want, i)


# --- the warehouse ------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def page(small_store, tmp_path_factory) -> Page:
    out = tmp_path_factory.mktemp("numbers") / "index.html"
    build_report(small_store, out)
    return Page(out.read_text(encoding="utf-8"))


class Warehouse:
    def __init__(self, con):
        self.con = con

    def rows(self, sql: str) -> list[dict]:
        return self.con.execute(sql.replace("$run", str(RUN))).pl().to_dicts()

    def row(self, sql: str) -> dict:
        return self.rows(sql)[0]

    def column(self, sql: str) -> list:
        return [next(iter(r.values())) for r in self.rows(sql)]


@pytest.fixture(scope="module")
def wh(warehouse) -> Warehouse:
    return Warehouse(warehouse)


# --- one check per section ----------------------------------------------------------------------------

def check_header(page: Page, wh: Warehouse):
    comparison = wh.rows("select * from study_comparison where run_id = $run order by position")
    head, rows = page.table("study-vs-run")
    assert head == ["quantity", "study", "this run", "note"]
    assert_table(rows, [[r["quantity"], r["study"], r["ours"], r["note"] or ""] for r in comparison])
    run = wh.row("select * from runs where run_id = $run")
    facts = text_of(page.header)
    assert_shows(facts, rf"test loss ({NUMBER}) \(({NUMBER})%\)", run["test_loss"], 100 * run["test_accuracy"])
    assert_shows(facts, rf"radius ({NUMBER}), ({NUMBER})% of the training points outside", run["radius"],
                 100 * wh.row("select avg(label) as a from points where run_id = $run and split = 'train'")["a"])
    assert_shows(facts, rf"width ({NUMBER}) \(the study's\)",
                 wh.row("select value from study_reference where key = 'kernel_width'")["value"])
    assert "full configuration" in facts


def check_f1(page: Page, wh: Warehouse):
    run = wh.row("select * from runs where run_id = $run")
    text = page.caption("f1")
    assert_shows(text, rf"radius ({NUMBER})", run["radius"])
    assert_shows(text, rf"the loss is ({NUMBER}) and the accuracy ({NUMBER})%", run["test_loss"],
                 100 * run["test_accuracy"])
    assert len(re.findall(r'<input type="checkbox" data-node="\d+" checked>', page.sections["f1"])) == run["hidden"]


def check_f2(page: Page, wh: Warehouse):
    text = page.caption("f2")
    stats = wh.rows("select * from loss_stats join sample_shape using (run_id, keep_prob)"
                    " where run_id = $run order by keep_prob")
    low, high = stats[0], stats[-1]
    assert_shows(text, rf"over the ({NUMBER}) masks", high["n"])
    full_loss = wh.row("select test_loss from runs where run_id = $run")["test_loss"]
    assert_shows(text, rf"full network's loss, ({NUMBER})", full_loss)
    assert_shows(text, rf"from ({NUMBER}) at p = ({NUMBER}) to ({NUMBER}) at p = ({NUMBER})",
                 low["mean_loss"], low["keep_prob"], high["mean_loss"], high["keep_prob"])
    assert_shows(text, rf"and ({NUMBER}) of the p = ({NUMBER}) masks keeps? every neuron", high["all_on_count"],
                 high["keep_prob"])
    assert_list(text, r"Skewness (.*?) \(for p", [r["skew_loss"] for r in stats])


def check_f3(page: Page, wh: Warehouse):
    stats = wh.rows("select * from loss_stats where run_id = $run order by keep_prob")
    head, rows = page.table("t1")
    assert head[:3] == ["p", "masks", "mean loss"]
    assert_table(rows, [[r["keep_prob"], r["n"], r["mean_loss"], r["std_loss"], r["mean_log_loss"], r["std_log_loss"],
                         r["distinct_masks"], r["all_on_count"]] for r in stats])
    shape = wh.rows("select * from sample_shape where run_id = $run order by keep_prob")
    text = page.caption("f3")
    assert_list(text, r"skewness of ln\(loss\) is (.*?), against", [r["skew_log_loss"] for r in shape])
    assert_list(text, r"against (.*?) for the loss itself", [r["skew_loss"] for r in shape])


def check_f4(page: Page, wh: Warehouse):
    stats = wh.rows("select * from grad_stats where run_id = $run order by keep_prob")
    _, rows = page.table("t2")
    assert_table(rows, [[r["keep_prob"], r["n"], r["mean_grad"], r["std_grad"], r["mean_grad_log"], r["std_grad_log"]]
                        for r in stats])
    s = wh.row("select * from sanity_vs_study where run_id = $run")
    _, rows = page.table("sanity")
    assert_table([row[1:] for row in rows], [[s["mean_grad_half"], s["study_mean_grad_half"]],
                                             [s["scaled_mean_grad"], s["study_scaled_mean_grad"]],
                                             [s["loss_difference"], s["study_loss_difference"]],
                                             [s["ratio"], s["study_ratio"]]])
    assert rows[0][0] == f"mean gradient at p = {s['p_half']:g} (pooled over nodes)"
    text = page.caption("f4")
    assert_list(text, r"Excess kurtosis (.*?) for p", wh.column(
        "select kurt_grad from sample_shape where run_id = $run order by keep_prob"))
    assert_shows(text, rf"Sanity check: ({NUMBER}) × the mean gradient at p = ({NUMBER}) is ({NUMBER}), the mean loss at "
                       rf"p = ({NUMBER}) minus at p = ({NUMBER}) is ({NUMBER}) \(ratio ({NUMBER})\)",
                 s["scale"], s["p_half"], s["scaled_mean_grad"], s["p_high"], s["p_low"], s["loss_difference"], s["ratio"])


def check_f5(page: Page, wh: Warehouse):
    trough = wh.rows("select * from grad_log_trough where run_id = $run order by keep_prob")
    found = re.findall(rf"({NUMBER}) \(peaks ({NUMBER}) and ({NUMBER})\)", page.caption("f5"))
    assert len(found) == len(trough)
    for shown, row in zip(found, trough):
        for s, v in zip(shown, (row["density_at_zero"], row["peak_below_zero"], row["peak_above_zero"])):
            assert shows(s, v)


def check_f6(page: Page, wh: Warehouse):
    p = wh.row("select keep_prob from keep_prob_roles where run_id = $run and is_nearest_half")["keep_prob"]
    assert page.title("f6") == f"F6 Is that node on? (p = {p:g})"
    off, on = wh.rows(f"select * from on_off_split where run_id = $run and keep_prob = {p} order by node_on")
    assert_shows(page.caption("f6"), rf"Mean ({NUMBER}) when off and ({NUMBER}) when on", off["mean_grad_log"],
                 on["mean_grad_log"])
    assert_shows(page.caption("f6"), rf"in ({NUMBER})% of the off cases and ({NUMBER})% of the on cases",
                 off["share_negative"], on["share_negative"], percent=True)


def check_f7(page: Page, wh: Warehouse):
    p = wh.row("select keep_prob from keep_prob_roles where run_id = $run and is_nearest_half")["keep_prob"]
    wide = wh.row(f"select * from node_spread where run_id = $run and keep_prob = {p} and widest_rank = 1")
    calm = wh.row(f"select * from node_spread where run_id = $run and keep_prob = {p} and narrowest_rank = 1")
    text = page.caption("f7")
    assert not text.startswith("F6")
    assert_shows(text, rf"node ({NUMBER}) has the widest spread \(standard deviation ({NUMBER})\), node ({NUMBER}) "
                       rf"the narrowest \(({NUMBER})\)", wide["node"], wide["std_grad_log"], calm["node"],
                 calm["std_grad_log"])


def check_f8(page: Page, wh: Warehouse):
    s = wh.row("select * from flip_path_summary where run_id = $run")
    text = page.caption("f8")
    assert_shows(text, rf"steps i and j of ({NUMBER}) flip paths", s["n_paths"])
    assert_shows(text, rf"variance \(mean ({NUMBER})\)", s["mean_variance"])
    assert_shows(text, rf"complement\) keep ({NUMBER})", s["complement_cov"])


def check_f9(page: Page, wh: Warehouse):
    s = wh.row("select * from flip_path_summary where run_id = $run")
    text = page.caption("f9")
    assert_shows(text, rf"differ by at most ({NUMBER})", s["max_start_end_gap"])
    assert_shows(text, rf"\(\|r\| < 2/√({NUMBER}) = ({NUMBER})\) after ({NUMBER}) flips?", s["n_paths"], s["noise_level"],
                 s["decay_length"])
    assert_shows(text, rf"complement with correlation ({NUMBER})", s["complement_corr"])


def check_f10(page: Page, wh: Warehouse):
    biases = wh.column("select node from node_directions where run_id = $run and bias_like order by node")
    text = page.caption("f10")
    if biases:
        assert_list(text, r"Nodes? (.*?) (?:are|is) active over the whole training square", biases)
    else:
        assert "No node is active over the whole training square" in text
    limit = value_of(re.search(rf"clipped at ±({NUMBER})", text).group(1))
    grads = np.abs(np.array(wh.column("select node_grad from grid_node_grads where run_id = $run")))
    assert np.quantile(grads, 0.99) <= limit + 1e-9  # the scale reaches the 99th percentile, rounded up


def check_f11(page: Page, wh: Warehouse):
    s = wh.row("select * from boundary_loss where run_id = $run")
    assert_shows(page.caption("f11"), rf"({NUMBER})% of the summed pointwise loss lies within ({NUMBER}) of the circle, "
                                      rf"a band covering ({NUMBER})%",
                 100 * s["share_loss_in_band"], s["band_width"], 100 * s["share_area_in_band"])


def check_knockouts(page: Page, wh: Warehouse):
    ranking = wh.rows("select * from knockout_ranking where run_id = $run order by node")
    _, rows = page.table("knockout-table")
    assert_table(rows, [[r["node"], r["loss_only_off"], r["knockout_effect"], r["loss_only_on"], r["harm_rank"]]
                        for r in ranking])
    s = wh.row("select * from knockout_summary where run_id = $run")
    assert_shows(page.caption("knockouts"), rf"every node off the loss is ({NUMBER})\). Switching one node off raises "
                                            rf"the loss for ({NUMBER}) of the ({NUMBER}) nodes: most for node ({NUMBER}) "
                                            rf"\(({NUMBER})\), least for node ({NUMBER}) \(({NUMBER})\)",
                 s["loss_all_off"], s["n_raise_loss"], s["n_nodes"], s["most_harmful_node"], s["most_harmful_effect"],
                 s["least_harmful_node"], s["least_harmful_effect"])


def check_exact_densities(page: Page, wh: Warehouse):
    text = page.caption("exact-densities")
    for quantity, name in (("loss", "loss"), ("log_loss", "log loss"), ("grad", "gradient")):
        shares = wh.column(f"select share_misplaced from sampled_exact_gap where run_id = $run and quantity = "
                           f"'{quantity}' order by keep_prob")
        assert_list(text, rf"[:;] {name} ((?:{NUMBER}%(?:, | and )?)+)", shares, percent=True)


def check_exact_means(page: Page, wh: Warehouse):
    compared = wh.rows("select * from sampled_vs_exact where run_id = $run order by keep_prob")
    _, rows = page.table("t3")
    assert_table(rows, [[r["keep_prob"], r["n"], r["mean_loss_sampled"], r["mean_loss_exact"], r["z_mean_loss"],
                         r["std_loss_sampled"], r["std_loss_exact"], r["mean_log_loss_sampled"],
                         r["mean_log_loss_exact"], r["z_mean_log_loss"], r["mean_grad_sampled"], r["mean_grad_exact"]]
                        for r in compared])
    text = page.caption("exact-means")
    assert_list(text, r"in standard errors: (.*?); log loss", [r["z_mean_loss"] for r in compared])
    s = wh.row("select * from expected_loss_summary where run_id = $run")
    assert_shows(text, rf"({NUMBER}) of ({NUMBER}) within 2, the largest gap ({NUMBER}): ({NUMBER}) masks pin the mean "
                       rf"loss down to about ±({NUMBER})", s["n_within_two_se"], s["n_keep_probs"],
                 s["largest_mean_loss_gap"], s["n_masks"], s["mean_loss_two_se"])
    assert_shows(text, rf"highest at p = ({NUMBER}) \(({NUMBER})\)", s["peak_keep_prob"], s["peak_mean_loss"])


def check_importance(page: Page, wh: Warehouse):
    s = wh.row("select * from importance_summary where run_id = $run")
    text = page.caption("importance")
    assert_list(text, r"Shapley top 3: nodes (.*?);", s["top3_nodes"])
    assert_shows(text, rf"add up to ({NUMBER}) = loss\(all on\) − loss\(all off\) = ({NUMBER})", s["shapley_sum"],
                 s["loss_all_on_minus_all_off"])
    assert_shows(text, rf"({NUMBER}) nodes? ha(?:ve|s) a positive Shapley value", s["n_raise_loss"])
    rho = {r["score_b"]: r["spearman"] for r in wh.rows("select * from importance_rank_corr where run_id = $run"
                                                        " and score_a = 'shapley'")}
    assert_shows(text, rf"Banzhaf ({NUMBER}), mean gradient, sampled masks ({NUMBER}), gradient, full network "
                       rf"({NUMBER}) and single knockout ({NUMBER})", rho["banzhaf"], rho["mean_grad_sampled"],
                 rho["grad_full"], rho["knockout_effect"])


def check_gradient_vs_knockout(page: Page, wh: Warehouse):
    s = wh.row("select * from flip_effect_summary where run_id = $run")
    text = page.caption("gradient-vs-knockout")
    assert_shows(text, rf"of all ({NUMBER}) pairs", s["n_pairs"])
    assert_shows(text, rf"within 10% of the effect in ({NUMBER})% \(off end\) and ({NUMBER})% \(on end\)",
                 s["mean_share_lower_tight"], s["mean_share_upper_tight"], percent=True)
    assert_shows(text, rf"from ({NUMBER})% for node ({NUMBER}) to ({NUMBER})% for node ({NUMBER})",
                 100 * s["least_misled_share"], s["least_misled_node"], 100 * s["most_misled_share"], s["most_misled_node"])
    p = wh.row("select keep_prob from keep_prob_roles where run_id = $run and is_nearest_half")["keep_prob"]
    assert f"sampled at p = {p:g}," in text


def check_sizes(page: Page, wh: Warehouse):
    text = page.caption("sizes")
    for r in wh.rows("select b.* from best_subnetworks as b join map_sizes using (run_id, k) where b.run_id = $run"):
        assert_shows(text, rf"{r['k']} nodes ({NUMBER}) \(median ({NUMBER}), ({NUMBER}) masks? within 10%",
                     r["best_loss"], r["median_loss"], r["n_within_10pct"])
    s = wh.row("select * from size_summary where run_id = $run")
    assert f"(node {s['one_less_node_off']} off)" in text
    assert_list(text, r"rises at k = (.*?)\.", s["rising_sizes"])


def check_complements(page: Page, wh: Warehouse):
    c = wh.row("select * from complement_summary where run_id = $run")
    b = wh.row("select * from balance_summary where run_id = $run")
    text = page.caption("complements")
    assert_shows(text, rf"from ({NUMBER}) \(k = ({NUMBER})\) to ({NUMBER}) \(k = ({NUMBER})\)", c["lowest_corr"],
                 c["lowest_k"], c["highest_corr"], c["highest_k"])
    assert_shows(text, rf"pooled ({NUMBER})", c["pooled_corr"])
    assert_shows(text, rf"positive in ({NUMBER}) of the ({NUMBER}) sizes", b["n_sizes_positive"], b["n_sizes"])
    assert_shows(text, rf"mean of their size ({NUMBER}), and of their size and number of cutting nodes ({NUMBER})",
                 b["corr_within_size"], b["corr_within_size_and_cutters"])
    p = wh.row("select keep_prob from keep_prob_roles where run_id = $run and is_nearest_half")["keep_prob"]
    scatter = wh.row(f"select * from balance_sample_corr where run_id = $run and keep_prob = {p}")
    assert_shows(text, rf"the ({NUMBER}) masks sampled at p = ({NUMBER}) with a cutting node on, r = ({NUMBER})",
                 scatter["n"], p, scatter["corr"])


def check_replication(page: Page, wh: Warehouse):
    summary = wh.rows("select * from replication_summary order by run_id")
    head, rows = page.table("replication-table")
    assert head[2:-1] == [f"run {r['run_id']} (seed {r['train_seed']})" for r in summary]
    by_label = {row[0]: row for row in rows}
    loss_row = by_label["full-network test loss"]
    assert all(shows(cell, r["test_loss"]) for cell, r in zip(loss_row[2:-1], summary))
    study = {r["finding"]: r for r in wh.rows("select * from study_findings")}
    assert shows(loss_row[1], study["test_loss"]["study_value"])
    p = study["exact_mean_loss_p25"]["keep_prob"]
    row = by_label[f"E[loss] at the study's p = {p:g} (exact)"]
    assert all(shows(cell, r["exact_mean_loss_p25"]) for cell, r in zip(row[2:-1], summary))
    assert shows(row[1].removesuffix(" (sampled)"), study["exact_mean_loss_p25"]["study_value"])
    row = by_label["flips until the path correlation is noise"]
    assert [value_of(c) for c in row[2:-1]] == [r["decay_length"] for r in summary]
    r = wh.row("select * from replication_ranges")
    assert_shows(page.caption("replication"), rf"falls to noise after ({NUMBER})(?:–({NUMBER}))? flips",
                 *([r["min_decay_length"], r["max_decay_length"]] if r["min_decay_length"] != r["max_decay_length"]
                   else [r["min_decay_length"]]))


def check_no_exhaustive(page: Page, wh: Warehouse):
    # this store holds every mask: the note in place of the exact sections is not on the page (its text
    # is checked on a store without them in tests/test_report_beyond.py)
    assert "exact" not in page.sections


CHECKS = {
    "header": check_header, "f1": check_f1, "f2": check_f2, "f3": check_f3, "f4": check_f4, "f5": check_f5,
    "f6": check_f6, "f7": check_f7, "f8": check_f8, "f9": check_f9, "f10": check_f10, "f11": check_f11,
    "knockouts": check_knockouts, "exact_densities": check_exact_densities, "exact_means": check_exact_means,
    "importance": check_importance, "gradient_vs_knockout": check_gradient_vs_knockout, "sizes": check_sizes,
    "complements": check_complements, "replication": check_replication, "no_exhaustive": check_no_exhaustive,
}


def test_every_section_has_a_check():
    assert sorted(report_page.section_names()) == sorted(CHECKS)


@pytest.mark.parametrize("name", sorted(CHECKS))
def test_section_numbers_are_the_warehouse_numbers(name, page, wh):
    CHECKS[name](page, wh)


def test_the_displayed_rounding_is_checked():
    """The comparison itself: a number shown to 3 decimals is that value within half a unit of the last one."""
    assert shows("0.120", 0.1197) and not shows("0.120", 0.1194)
    assert shows("−0.4341", -0.43412) and shows("+1.62", 1.6189) and shows("1,000", 1000)
    assert shows("15%", 0.154, percent=True) and not shows("15%", 0.156, percent=True)
    assert shows("—", None) and not shows("0.1", None)


def test_numbers_use_a_true_minus_sign(page):
    captions = " ".join(page.caption(a) for a in page.sections if a != "exact") + page.caption("header")
    assert not re.search(r"(?<![\w−])-\d", captions)
    for table_id in ("t1", "t2", "t3", "knockout-table", "sanity", "study-vs-run"):
        assert not any(re.match(r"-\d", c) for row in page.table(table_id)[1] for c in row)


def test_polars_reads_what_the_page_shows(page, small_store):
    """A last independent look: the sampled masks' mean loss per p straight from Parquet, in T1."""
    samples = pl.read_parquet(small_store / "mask_samples" / "*.parquet").filter(pl.col("run_id") == RUN)
    _, rows = page.table("t1")
    for row in rows:
        losses = samples.filter(pl.col("keep_prob") == value_of(row[0]))["loss"].to_numpy().astype(np.float64)
        assert shows(row[2], losses.mean())
