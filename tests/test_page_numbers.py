"""Every number the page shows, read back from the rendered HTML and compared with the warehouse to the
rounding the page displays: one check per section of the page template, so a section added without a
check fails `test_every_section_has_a_check`."""
from __future__ import annotations

import csv
import html
import io
import json
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
    # the small store's network is not the study's width, and the caption says so with both widths
    study_hidden = int(wh.row("select value from study_reference where key = 'study_hidden'")["value"])
    assert run["hidden"] != study_hidden
    assert_shows(facts, rf"This run's network has ({NUMBER}) hidden neurons and the study's ({NUMBER})",
                 run["hidden"], study_hidden)
    assert "do not hang on one training run" not in facts


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
    steps = np.diff([r["mean_loss"] for r in stats])
    if (steps < 0).all() or (steps > 0).all():
        assert_shows(text, rf"from ({NUMBER}) at p = ({NUMBER}) to ({NUMBER}) at p = ({NUMBER})",
                     low["mean_loss"], low["keep_prob"], high["mean_loss"], high["keep_prob"])
        assert ("the mean falls" in text) == bool((steps < 0).all())
    else:
        assert_list(text, r"not monotone in p: (.*?) at p", [r["mean_loss"] for r in stats])
    assert_shows(text, rf"and ({NUMBER}) of the p = ({NUMBER}) masks keeps? every neuron", high["all_on_count"],
                 high["keep_prob"])
    assert_list(text, r"Skewness (.*?) \(for p", [r["skew_loss"] for r in stats])


def check_f3(page: Page, wh: Warehouse):
    stats = wh.rows("select * from loss_stats where run_id = $run order by keep_prob")
    head, rows = page.table("t1")
    assert head == ["p", "masks", "mean loss", "std loss", "mean log loss", "std log loss", "distinct masks",
                    "all-on masks"]
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
    head, rows = page.table("sanity")
    assert head == ["sanity check", "this run", "study"]
    assert_table([row[1:] for row in rows], [[s["mean_grad_half"], s["study_mean_grad_half"]],
                                             [s["scaled_mean_grad"], s["study_scaled_mean_grad"]],
                                             [s["loss_difference"], s["study_loss_difference"]],
                                             [s["ratio"], s["study_ratio"]]])
    assert rows[0][0] == f"mean gradient at p = {s['p_half']:g} (pooled over nodes)"
    text = page.caption("f4")
    shape = wh.rows("select * from grad_peaks where run_id = $run order by keep_prob")
    assert_list(text, r"excess kurtosis (.*?) \(0 for a normal\)", [r["kurt_grad"] for r in shape])
    assert_list(text, r"\(0 for a normal\) and (.*?) of the pairs beyond", [r["tail_share"] for r in shape], percent=True)
    assert_shows(text, rf"beyond ({NUMBER}) standard deviations \(a normal: ({NUMBER})%\)", shape[0]["tail_sigmas"],
                 100 * shape[0]["normal_tail_share"])
    # each p's peak against its normal fit's, under the verdict its own numbers give
    peaked = [r for r in shape if r["more_peaked"]]
    flat = [r for r in shape if not r["more_peaked"]]
    for group, words in ((peaked, "rises above"), (flat, "stays below")):
        if not group:
            assert words not in text
            continue
        clause = re.search(rf"{words} .*?p = (.*?) \(peak (.*?): ", text)
        assert [value_of(p) for p in numbers(clause.group(1))] == [r["keep_prob"] for r in group]
        shown = numbers(clause.group(2))
        assert len(shown) == 2 * len(group)
        for r, (peak, fit) in zip(group, zip(shown[::2], shown[1::2])):
            assert shows(peak, r["peak_density"]) and shows(fit, r["normal_peak_density"])
            assert (r["peak_density"] > r["normal_peak_density"]) == (words == "rises above")
    if len({r["tails"] for r in shape}) == 1:
        assert {"lighter": "lighter-tailed than a normal by both measures at every p",
                "heavier": "heavier-tailed than a normal by both measures at every p",
                "mixed": "heavier-tailed by one measure, lighter by the other at every p"}[shape[0]["tails"]] in text
    else:
        for r in shape:
            word = {"lighter": "lighter-tailed than a normal by both measures",
                    "heavier": "heavier-tailed than a normal by both measures",
                    "mixed": "heavier-tailed by one measure, lighter by the other"}[r["tails"]]
            listed = rf"(?:[0-9.]+(?:, | and ))*{re.escape(format(r['keep_prob'], 'g'))}(?![0-9])"
            assert re.search(rf"{word} at p = {listed}", text), (word, r["keep_prob"])
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
    # the verdict: a trough where the density at 0 lies below both peaks, at every p, some or none
    from reports.sections.f5 import trough_verdict
    troughs = sum(r["density_at_zero"] < min(r["peak_below_zero"], r["peak_above_zero"]) for r in trough)
    assert f": {trough_verdict(troughs, len(trough))}." in page.caption("f5")


@pytest.mark.parametrize("troughs, n, words", [
    (3, 3, "a trough at 0 at every p, as in the study"), (1, 1, "a trough at 0, as in the study"),
    (0, 3, "no trough at 0, unlike the study"), (0, 1, "no trough at 0, unlike the study"),
    (2, 3, "a trough at 0 for 2 of the 3 keep probabilities"),
])
def test_f5_says_at_how_many_keep_probabilities_the_density_has_a_trough(troughs, n, words):
    """The test store's densities have no trough; the other verdicts, with made-up counts."""
    from reports.sections.f5 import trough_verdict
    assert trough_verdict(troughs, n) == words


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
    hidden = wh.row("select hidden from runs where run_id = $run")["hidden"]
    exact = wh.row(f"select cov from flip_path_exact where run_id = $run and k = {hidden}")["cov"]
    assert_shows(text, rf"the exact complement covariance is ({NUMBER})", exact)


def check_f9(page: Page, wh: Warehouse):
    s = wh.row("select * from flip_path_summary where run_id = $run")
    c = wh.row("select * from decay_comparison where run_id = $run")
    text = page.caption("f9")
    assert_shows(text, rf"differ by at most ({NUMBER})", s["max_start_end_gap"])
    assert_shows(text, rf"complement with correlation ({NUMBER})", s["complement_corr"])
    assert_shows(text, rf"over ({NUMBER}) sampled paths", s["n_paths"])
    assert_shows(text, rf"With this run's n = ({NUMBER}) \(2/√({NUMBER}) = ({NUMBER})\) the sampled correlation with the "
                       rf"start falls within it first at k = ({NUMBER}), the exact one at k = ({NUMBER})",
                 s["n_paths"], s["n_paths"], s["noise_level"], s["decay_length"], c["decay_length_exact"])
    assert_shows(text, rf"The study saw ({NUMBER})–({NUMBER})", c["study_low"], c["study_high"])
    if c["min_paths_study"] is None:
        assert "no number of paths makes the exact curve's first insignificant k" in text
    else:
        check_decay_implied(text, c)


def check_decay_implied(text: str, c: dict):
    """F9's reading of the study's number, when some number of paths gives it (tests/test_report_exact_views.py
    runs it on a made-up curve that has one)."""
    assert_shows(text, rf"the exact curve gives ({NUMBER}) with ({NUMBER})–({NUMBER}) paths and ({NUMBER}) with "
                       rf"({NUMBER})–({NUMBER}) \(a cut-off \|r\| between ({NUMBER}) and ({NUMBER})\)",
                 c["study_low"], c["min_paths_study_low"], c["max_paths_study_low"], c["study_high"],
                 c["min_paths_study_high"], c["max_paths_study_high"], c["cut_off_study_low"], c["cut_off_study_high"])
    assert_shows(text, rf"the exact correlation is ({NUMBER}) at k = ({NUMBER}) and ({NUMBER}) at k = ({NUMBER})",
                 c["corr_exact_study_low"], c["study_low"], c["corr_exact_study_high"], c["study_high"])
    assert_shows(text, rf"implies it drew about ({NUMBER})–({NUMBER}) paths", c["min_paths_study"], c["max_paths_study"])


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
    assert_shows(text, rf"Within 2 standard errors of the exact mean: the sampled mean loss at ({NUMBER}) of the "
                       rf"({NUMBER}) keep probabilities, the sampled mean log loss at ({NUMBER}) of ({NUMBER}); the "
                       rf"largest gap in mean loss is ({NUMBER}): ({NUMBER}) masks pin the mean loss down to about "
                       rf"±({NUMBER})", s["n_within_two_se"], s["n_keep_probs"], s["n_within_two_se_log_loss"],
                 s["n_keep_probs"], s["largest_mean_loss_gap"], s["n_masks"], s["mean_loss_two_se"])
    assert_shows(text, rf"highest at p = ({NUMBER}) \(({NUMBER})\)", s["peak_keep_prob"], s["peak_mean_loss"])


def check_importance(page: Page, wh: Warehouse):
    s = wh.row("select * from importance_summary where run_id = $run")
    text = page.caption("importance")
    assert_list(text, r"Shapley top 3: nodes (.*?);", s["top3_nodes"])
    assert_shows(text, rf"add up to ({NUMBER}) = loss\(all on\) − loss\(all off\) = ({NUMBER})", s["shapley_sum"],
                 s["loss_all_on_minus_all_off"])
    assert_shows(text, rf"({NUMBER}) nodes? ha(?:ve|s) a positive Shapley value", s["n_raise_loss"])
    # how many of those are bias-like, with its verb: "1 is", "2 are", "all 3 are"
    if not s["n_bias_like"]:
        assert "no node of this network is bias-like" in text
    else:
        said = re.search(r"(?:all (\d+) are|(\d+) (is|are)) bias-like \(of (\d+) bias-like nodes?\)", text)
        assert said, text
        if said.group(1):
            assert int(said.group(1)) == s["n_raise_loss"] == s["n_raise_loss_bias_like"] > 1
        else:
            assert int(said.group(2)) == s["n_raise_loss_bias_like"]
            assert said.group(3) == ("is" if s["n_raise_loss_bias_like"] == 1 else "are"), said.group(0)
        assert int(said.group(4)) == s["n_bias_like"]
    rho = {r["score_b"]: r["spearman"] for r in wh.rows("select * from importance_rank_corr where run_id = $run"
                                                        " and score_a = 'shapley'")}
    assert_shows(text, rf"Banzhaf ({NUMBER}), mean gradient, sampled masks ({NUMBER}), gradient, full network "
                       rf"({NUMBER}) and single knockout ({NUMBER})", rho["banzhaf"], rho["mean_grad_sampled"],
                 rho["grad_full"], rho["knockout_effect"])


@pytest.mark.parametrize("values, told", [
    ([1.0], ["Holds for this network: a is positive.", "Fails for this network: b is positive."]),
    ([1.0, 2.0, 3.0], ["Holds for every one of the 3 networks: a is positive.",
                       "Fails for every network, so it belonged to the study's own network, not to networks "
                       "trained this way: b is positive."]),
    ([1.0, -2.0], ["Holds for some networks only — luck of the network: a is positive (1 of 2).",
                   "Fails for every network, so it belonged to the study's own network, not to networks trained "
                   "this way: b is positive."]),
])
def test_the_replication_sentence_counts_one_or_many_networks(values, told):
    """The verdict sentence for one network, for all of several, and for some: made-up findings a (the
    values given) and b (always negative), judged by "is positive"."""
    from reports.sections.replication import Finding, sentence
    summary = pl.DataFrame({"a": values, "b": [-abs(v) for v in values]})
    listed = [Finding(c, c, claim=lambda v: v > 0, claim_text=f"{c} is positive") for c in ("a", "b")]
    assert sentence(summary, listed) == " ".join(told)


@pytest.mark.parametrize("same_test_points, same_mask_seed, says_other_seeds", [
    (True, True, False), (False, True, True), (True, False, True), (False, False, True), (None, None, False),
])
@pytest.mark.parametrize("hidden", [20, 6])
def test_the_study_comparison_says_when_seeds_or_widths_differ(same_test_points, same_mask_seed, says_other_seeds,
                                                               hidden):
    """The sentences around the study comparison, for each way a run can differ from the study (the test
    store differs in every way, so the other branches are checked here with made-up settings)."""
    from types import SimpleNamespace

    from reports.sections.header import comparison_caption

    class Study:
        def frame(self, sql):
            assert "study_hidden" in sql
            return pl.DataFrame({"hidden": [20]})
    ctx = SimpleNamespace(wh=Study(), hidden=hidden, study_probs=[0.25, 0.5, 0.75], keep_probs=[0.25, 0.5, 0.75],
                          config={"samples_per_prob": 10000})
    setup = {"same_keep_probs": True, "same_samples_per_prob": True, "study_masks": 30000,
             "study_samples_per_prob": 10000, "same_test_points": same_test_points, "same_mask_seed": same_mask_seed}
    text = comparison_caption(ctx, setup, 10)
    assert ("other numpy seeds than the study's" in text) == says_other_seeds
    assert ("The same test points and the same 30,000 sampled masks" in text) == bool(same_test_points and same_mask_seed)
    assert ("has 6 hidden neurons and the study's 20" in text) == (hidden == 6)
    assert ("do not hang on one training run" in text) == (hidden == 20)


@pytest.mark.parametrize("harmful, harmful_bias, n_bias_like, one_layer, words", [
    (3, 1, 2, True, "1 is bias-like (of 2 bias-like nodes)"),
    (3, 2, 2, True, "2 are bias-like (of 2 bias-like nodes)"),
    (3, 0, 1, True, "0 are bias-like (of 1 bias-like node)"),
    (2, 2, 4, True, "all 2 are bias-like (of 4 bias-like nodes)"),
    (1, 1, 1, True, "1 is bias-like (of 1 bias-like node)"),
    (3, 0, 0, True, "no node of this network is bias-like"),
    (3, 0, 0, False, "whether a unit is bias-like is a one-layer notion, not defined for this network"),
])
def test_the_importance_caption_counts_bias_like_nodes_in_words(harmful, harmful_bias, n_bias_like, one_layer,
                                                                  words):
    """The test store has no bias-like node, so the counted branch is checked here with made-up counts."""
    from reports.sections.importance import bias_words
    assert bias_words(harmful, harmful_bias, n_bias_like, one_layer) == words


def chart_rows(page: Page, chart_id: str, header: str) -> list[dict]:
    """The rows of the inline CSV data whose header is `header` in the chart's Vega-Lite spec, as the page embeds it."""
    specs = json.loads(re.search(r'<script type="application/json" id="vega-specs">(.*?)</script>',
                                 page.source, re.S).group(1))
    found = []

    def visit(node):
        # inline CSV sits in a data's "values" or, shared by the layers, in the spec's "datasets"
        if isinstance(node, str) and node.split("\n", 1)[0] == header:
            found.append(list(csv.DictReader(io.StringIO(node))))
        elif isinstance(node, dict):
            for v in node.values():
                visit(v)
        elif isinstance(node, list):
            for v in node:
                visit(v)

    visit(specs[chart_id])
    assert len(found) == 1, f"{len(found)} datasets with header {header!r} in {chart_id}"
    return found[0]


def check_interactions(page: Page, wh: Warehouse):
    s = wh.row("select * from interaction_summary where run_id = $run")
    text = page.caption("interactions")
    assert_shows(text, rf"from all ({NUMBER}) masks", 2 ** wh.row("select hidden from runs where run_id = $run")["hidden"])
    assert_shows(text, rf"({NUMBER}) of the ({NUMBER}) pairs are synergistic", s["n_synergy_pairs"], s["n_pairs"])
    assert_shows(text, rf"the strongest synergy is nodes ({NUMBER}) and ({NUMBER}) \(({NUMBER})\), the strongest "
                       rf"redundancy nodes ({NUMBER}) and ({NUMBER}) \(({NUMBER})\)", s["synergy_i"], s["synergy_j"],
                 s["synergy_value"], s["redundancy_i"], s["redundancy_j"], s["redundancy_value"])
    assert_shows(text, rf"additive in the neurons ({NUMBER})% and ({NUMBER})%, pairwise ({NUMBER})% and ({NUMBER})%, "
                       rf"order three and above ({NUMBER})% and ({NUMBER})%",
                 *[100 * s[f"{order}_share_{q}"] for order in ("additive", "pairwise", "higher")
                   for q in ("loss", "log_loss")])
    assert_list(text, r"order-3 Möbius term: nodes (.*?) \(", s["top_order3_nodes"])
    assert_shows(text, rf"order-3 Möbius term: nodes [^(]*\(({NUMBER})\)", s["top_order3_value"])
    names = {"bias-like with cutting": "pairs of a bias-like and a cutting node", "bias-like": "pairs of bias-like nodes",
             "cutting": "pairs of cutting nodes"}
    for g in wh.rows("select * from interaction_groups where run_id = $run"):
        assert_shows(text, rf"{names[g['pair_kind']]}: ({NUMBER}) of ({NUMBER}) synergistic, mean ({NUMBER})",
                     g["n_synergy"], g["n_pairs"], g["mean_value"])
    # the table: the largest Möbius terms of each order
    terms = wh.rows("select * from mobius_terms where run_id = $run and rank_in_order <= 3 order by \"order\", rank_in_order")
    head, rows = page.table("mobius-table")
    assert head[0] == "order" and len(rows) == len(terms)
    for row, t in zip(rows, terms):
        assert value_of(row[0]) == t["order"] and [value_of(n) for n in numbers(row[1])] == t["nodes"]
        assert shows(row[2], t["value"]) and value_of(row[3]) == t["rank_in_order"]
    # the heat map draws exactly the warehouse's interactions: every ordered pair i ≠ j, to 6 significant digits
    drawn = {(int(r["i"]), int(r["j"])): float(r["value"]) for r in chart_rows(page, "vis-interactions", "i,j,value")}
    stored = {(r["i"], r["j"]): r["value"] for r in wh.rows("select i, j, value from shapley_interactions where run_id = $run")}
    assert drawn.keys() == stored.keys()
    assert all(abs(drawn[k] - v) <= 1e-5 * abs(v) + 1e-12 for k, v in stored.items())


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
    levels = {r["level"]: r for r in wh.rows("select * from complement_balance where run_id = $run")}
    size, cutters = levels["size"], levels["size_and_cutters"]
    assert_shows(text, rf"Over the ({NUMBER}) masks where both the mask and its complement have a cutting node on, "
                       rf"measured from the mean of their size, a mask's imbalance correlates ({NUMBER}) with its "
                       rf"complement's", size["n_masks"], size["corr_imbalance"])
    assert_shows(text, rf"over these masks, ({NUMBER}), is still ({NUMBER}) once both imbalances are accounted for "
                       rf"\(partial correlation\): ({NUMBER})% of it remains; ({NUMBER})% measured within size and "
                       rf"number of cutting nodes \(({NUMBER}) → ({NUMBER})\)",
                 size["corr_log_loss"], size["partial_log_loss"], 100 * size["share_remaining"],
                 100 * cutters["share_remaining"], cutters["corr_log_loss"], cutters["partial_log_loss"])
    assert ("balanced masks tend to have balanced complements" in text) == (size["corr_imbalance"] > 0)


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
    # the decay under one rule, |r| < 2/√n, on both curves
    r = wh.row("select * from replication_ranges")
    decay = {d["run_id"]: d for d in wh.rows("select * from decay_comparison")}
    row = by_label[f"first k where the path correlation is noise, |r| < 2/√n: sampled, n = {r['n_paths']:,} paths"]
    assert [value_of(c) for c in row[2:-1]] == [x["decay_length"] for x in summary]
    row = by_label["… the exact curve, same rule and n"]
    assert [value_of(c) for c in row[2:-1]] == [decay[x["run_id"]]["decay_length_exact"] for x in summary]
    study_range = f"{study['decay_length']['study_value']:g}–{study['decay_length']['study_value_high']:g}"
    row = by_label[f"… the n for which the exact curve gives the study's {study_range}"]
    for c, x in zip(row[2:-1], summary):
        d = decay[x["run_id"]]
        assert c == ("—" if d["min_paths_study"] is None else f"{d['min_paths_study']:,}–{d['max_paths_study']:,}")
    # every other row: each network's cell is its replication_summary value, as rounded on the page
    cells = {
        "skewness of loss at the study's p = 0.5 (exact)": "skew_loss_p50",
        "skewness of log loss at the study's p = 0.5 (exact)": "skew_log_loss_p50",
        "sanity check ratio, exact (same p)": "sanity_ratio_exact",
        "complement correlation, flip paths": "complement_corr_paths",
        "complement correlation, all masks (exact)": "complement_corr",
        "bias-like nodes": "n_bias_like",
        "most helpful node (most negative Shapley)": "top_node",
        "Spearman ρ with Shapley: mean gradient, sampled masks": "spearman_shapley_mean_grad_sampled",
        "… gradient of the full network": "spearman_shapley_grad_full",
        "… single knockout": "spearman_shapley_knockout",
        "steps of p on the exact grid (0.05 apart) where E[loss] rises": "mean_loss_rises",
        "sizes k where the best loss rises": "best_loss_rises",
        "corr(imbalance, log loss) within sizes": "balance_corr_within_size",
        "… within sizes and cutter counts": "balance_corr_within_size_and_cutters",
    }
    sanity_label = next(label for label in by_label if label.startswith("sanity check ratio, sampled"))
    cells[sanity_label] = "sanity_ratio"
    for label, column in cells.items():
        assert all(shows(cell, x[column]) for cell, x in zip(by_label[label][2:-1], summary)), (label, column)
    map_k = summary[0]["map_k"]
    assert all(shows(c, x["best_loss_map_k"]) for c, x in zip(by_label[f"best {map_k}-node loss"][2:-1], summary))
    assert [c.split(", ") for c in by_label["Shapley top 3"][2:-1]] == [[str(v) for v in x["top3_nodes"]]
                                                                        for x in summary]
    knockout = by_label["cheapest single knockout: loss increase"]
    assert all(shows(c, x["cheapest_knockout_increase"], percent=True) for c, x in zip(knockout[2:-1], summary))
    assert shows(knockout[1].split(" (")[0], study["cheapest_knockout_increase"]["study_value"], percent=True)
    assert knockout[1].startswith("+")  # a loss increase, signed as the runs' cells are
    for label in ("corr(imbalance, log loss) within sizes", "… within sizes and cutter counts"):
        assert by_label[label][1] == "> 0 (conjecture)"  # the study's conjecture, stated beside the values
    assert shows(by_label[sanity_label][1], study["sanity_ratio"]["study_value"])
    assert by_label["bias-like nodes"][1].startswith(f"{study['n_bias_like']['study_value']:g} (nodes ")
    # the study's yes/no findings, each judged here from its statement: holds in all, some or none of
    # the networks, in the table's last column and in the sentence under it
    claims = {
        "skew_loss_p50": ("the loss is right-skewed", lambda v: v > 0),
        "skew_log_loss_p50": ("log loss is near normal (|skewness| < 0.5)", lambda v: abs(v) < 0.5),
        sanity_label: ("the sanity check comes within 10% of 1", lambda v: abs(v - 1) < 0.1),
        "complement_corr_paths": ("a mask's log loss correlates positively with its complement's", lambda v: v > 0),
        "n_bias_like": ("some nodes act as biases", lambda v: v > 0),
        "cheapest_knockout_increase": ("some single node can be removed almost for free (< 5% more loss)",
                                       lambda v: v < 0.05),
        "balance_corr_within_size": ("balanced masks lose less than others of their size", lambda v: v > 0),
    }
    text = page.caption("replication")
    n = len(summary)
    parts = {"every": re.search(r"Holds for (?:every one of the \d+ networks|this network): (.*?)\.(?: [A-Z]|$)", text),
             "some": re.search(r"Holds for some networks only — luck of the network: (.*?)\.(?: [A-Z]|$)", text),
             "none": re.search(r"Fails for (?:every network, so .*?|this network): (.*?)\.(?: [A-Z]|$)", text)}
    labels = {column: label for label, column in cells.items()}
    labels["cheapest_knockout_increase"] = "cheapest single knockout: loss increase"
    for key, (claim, holds) in claims.items():
        column = cells.get(key, key)
        k = sum(bool(holds(x[column])) for x in summary)
        verdict = by_label[labels.get(key, key)][-1]
        assert verdict.startswith(f"holds in all {n}" if k == n else f"fails in all {n}" if k == 0
                                  else f"holds in {k} of {n}"), (claim, verdict)
        bucket = "every" if k == n else "none" if k == 0 else "some"
        told = parts[bucket]
        # one item of the bucket's list is the claim itself (with its count when it holds for some only)
        assert told and (claim + (f" ({k} of {n})" if bucket == "some" else "")) in told.group(1).split("; "), \
            (claim, bucket, told.group(1))

    def span(low, high):
        return [low, high] if low != high else [low]

    assert_shows(text, rf"the sampled path correlation falls to noise after ({NUMBER})(?:–({NUMBER}))? flips and the "
                       rf"exact one after ({NUMBER})(?:–({NUMBER}))?",
                 *span(r["min_decay_length"], r["max_decay_length"]),
                 *span(r["min_decay_length_exact"], r["max_decay_length_exact"]))
    # the verdict sentence counts the networks: "every one of the n", and "k of n" for the split ones
    n = len(summary)
    verdict = re.search(r"Holds for (every one of the (\d+) networks|this network):", text)
    if verdict:
        assert verdict.group(1) == (f"every one of the {n} networks" if n > 1 else "this network"), verdict.group(0)
    some = re.search(r"Holds for some networks only — luck of the network: (.*?)\.(?: [A-Z]|$)", text)
    if some:
        counts = re.findall(r"\((\d+) of (\d+)\)", some.group(1))
        assert counts and all(0 < int(k) < int(total) == n for k, total in counts), some.group(0)
    assert verdict or some or "Fails for" in text, text
    if r["min_paths_study_every"] is None:
        assert f"no one number of paths makes every exact curve give the study's {study_range}" in text
    else:
        assert_shows(text, rf"give the study's {study_range} with ({NUMBER})–({NUMBER}) paths",
                     r["min_paths_study_every"], r["max_paths_study_every"])
    # the two shape findings: one yardstick, every one of the study's p
    tails = wh.rows("select t.* from exact_tails as t join study_reference as s on s.key = 'study_keep_prob' "
                    "and abs(t.keep_prob - s.keep_prob) < 1e-9 where t.quantity in ('log_loss', 'grad')")
    names = {"log_loss": "log loss", "grad": "∂loss/∂on_i"}
    y = tails[0]
    assert_shows(text, rf"a normal puts ({NUMBER})% of its probability beyond ({NUMBER}) standard deviations; near "
                       rf"normal means \|excess kurtosis\| < ({NUMBER})",
                 100 * y["normal_tail_share"], y["tail_sigmas"], y["near_normal_kurtosis"])
    for quantity, name in names.items():
        for p in sorted({t["keep_prob"] for t in tails}):
            row = by_label[f"{name} at the study's p = {p:g}: excess kurtosis, share beyond {y['tail_sigmas']:g}σ (exact)"]
            by_run = {t["run_id"]: t for t in tails if t["quantity"] == quantity and t["keep_prob"] == p}
            for c, x in zip(row[2:-1], summary):
                kurt, share = c.split(", ")
                t = by_run[x["run_id"]]
                assert shows(kurt, round(t["kurtosis"], 2)) and shows(share, t["tail_share"], percent=True)
            claim = [bool(t["near_normal"]) if quantity == "log_loss" else t["tails"] == "heavier"
                     for t in by_run.values()]
            verdict = ("holds in all" if all(claim) else "fails in all" if not any(claim) else "holds in")
            assert row[-1].startswith(verdict), row[-1]


def check_no_exhaustive(page: Page, wh: Warehouse):
    # this store holds every mask: the note in place of the exact sections is not on the page (its text
    # is checked on a store without them in tests/test_report_beyond.py)
    assert "exact" not in page.sections


def check_estimators(page: Page, wh: Warehouse):
    # this store ran no estimators (they are opt-in): no benchmark rows, so the section is left out; on a
    # store that ran them, tests/test_estimators.py checks the section's numbers against the warehouse
    assert wh.row("select count(*) as n from estimator_benchmark")["n"] == 0
    assert "estimators" not in page.sections


CHECKS = {
    "header": check_header, "f1": check_f1, "f2": check_f2, "f3": check_f3, "f4": check_f4, "f5": check_f5,
    "f6": check_f6, "f7": check_f7, "f8": check_f8, "f9": check_f9, "f10": check_f10, "f11": check_f11,
    "knockouts": check_knockouts, "exact_densities": check_exact_densities, "exact_means": check_exact_means,
    "importance": check_importance, "interactions": check_interactions, "estimators": check_estimators,
    "gradient_vs_knockout": check_gradient_vs_knockout, "sizes": check_sizes,
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
    for table_id in ("t1", "t2", "t3", "knockout-table", "sanity", "study-vs-run", "mobius-table", "replication-table"):
        assert not any(re.match(r"-\d", c) for row in page.table(table_id)[1] for c in row)


def test_polars_reads_what_the_page_shows(page, small_store):
    """A last independent look: the sampled masks' mean loss per p straight from Parquet, in T1."""
    samples = pl.read_parquet(small_store / "mask_samples" / "*.parquet").filter(pl.col("run_id") == RUN)
    _, rows = page.table("t1")
    for row in rows:
        losses = samples.filter(pl.col("keep_prob") == value_of(row[0]))["loss"].to_numpy().astype(np.float64)
        assert shows(row[2], losses.mean())


def test_numbers_are_written_as_the_page_promises():
    """reports.fmt on chosen values, each expected string written out by hand: whole numbers bare,
    statistics to their decimals, a tiny number to two significant digits (never 0.000), a true minus
    sign, "—" for a number that does not exist, separators in counts, and the page's lists."""
    from reports import fmt

    missing = (None, float("nan"), float("inf"), float("-inf"))
    for write in (fmt.num, fmt.fixed, fmt.signed, fmt.pct, fmt.integer, fmt.prob):
        assert [write(v) for v in missing] == ["—"] * 4, write.__name__
    assert fmt.num(3.0) == "3" and fmt.num(1234) == "1234" and fmt.num(-2) == "−2"
    assert fmt.num(0.12345) == "0.1235" and fmt.num(-0.5) == "−0.5000" and fmt.num(0.25, sign=True) == "+0.2500"
    assert fmt.num(0.0000123) == "0.000012" and fmt.num(-0.0000123) == "−0.000012"
    assert fmt.num(0.004, 2) == "0.0040" and fmt.num(0.005, 2) == "0.01"  # 0.005 already shows at 2 decimals
    assert fmt.fixed(2.0) == "2.000" and fmt.fixed(0) == "0.000" and fmt.fixed(-0.25, 2) == "−0.25"
    assert fmt.fixed(0.00042) == "0.00042" and fmt.fixed(1.5, 1, sign=True) == "+1.5"
    assert fmt.signed(0.5) == "+0.50" and fmt.signed(-0.5) == "−0.50" and fmt.signed(0.125, 1) == "+0.1"
    assert fmt.pct(0.153) == "15%" and fmt.pct(0.153, 1) == "15.3%" and fmt.pct(1) == "100%"
    assert fmt.pct(0.02, sign=True) == "+2%" and fmt.pct(-0.02, sign=True) == "−2%" and fmt.pct(-0.02) == "−2%"
    assert fmt.integer(1234567) == "1,234,567" and fmt.integer(12.0) == "12"
    assert fmt.prob(0.25) == "0.25" and fmt.prob(0.5) == "0.5" and fmt.prob(1) == "1" and fmt.prob(1e-9) == "1e-09"
    assert fmt.join([]) == "" and fmt.join(["a"]) == "a" and fmt.join(["a", "b"]) == "a and b"
    assert fmt.join(["a", "b", "c"]) == "a, b and c" and fmt.join([1, 2]) == "1 and 2"
    assert fmt.probs([0.25, 0.5, 0.75]) == "0.25, 0.5 and 0.75"
    assert fmt.plural(1, "mask") == "1 mask" and fmt.plural(2, "mask") == "2 masks"
    assert fmt.plural(1000, "mask") == "1,000 masks" and fmt.plural(0, "mask") == "0 masks"
    assert fmt.plural(2, "index", "indices") == "2 indices" and fmt.plural(1, "index", "indices") == "1 index"
    words = ["One", "Two", "Three", "Four", "Five", "Six", "Seven", "Eight", "Nine"]
    assert [fmt.number_word(n) for n in range(1, 10)] == words
    assert fmt.number_word(10) == "10" and fmt.number_word(12345) == "12,345" and fmt.number_word(0) == "0"
    assert fmt.nodes(0b1011, 4) == [0, 1, 3] and fmt.nodes(0b1011, 4, on=False) == [2]
    assert fmt.nodes(0b1011, 6, on=False) == [2, 4, 5] and fmt.nodes(0, 3) == []
    assert fmt.span(0.97, 0.999) == "0.970–0.999" and fmt.span(0.1232, 0.1234) == "0.123"
    assert fmt.span(-0.73, 0.87, 2) == "from −0.73 to 0.87" and fmt.span(0.5, -0.1) == "from 0.500 to −0.100"


def test_a_table_shows_its_title_note_and_cells_and_sorts_only_when_asked():
    from reports.tables import table, titled

    body = table(["p", "loss <x>"], [["0.5", "1.25"], ["1", None]], table_id="t9", numeric={1})
    page = str(titled("T9 · loss by p", body, note="each p & its loss"))
    assert re.search(r"<h3>T9 · loss by p</h3>", page) and "each p &amp; its loss" in page
    assert '<table id="t9">' in page and "sortable" not in page  # a click on a heading does not reorder it
    headings = re.findall(r"<th( class=\"num\")?>([^<]*)</th>", page)
    assert headings == [("", "p"), (' class="num"', "loss &lt;x&gt;")]  # escaped; numbers right-aligned
    cells = re.findall(r"<td( class=\"num\")?>([^<]*)</td>", page)
    assert cells == [("", "0.5"), (' class="num"', "1.25"), ("", "1"), (' class="num"', "")]
    assert '<table id="k" class="sortable">' in str(table(["a"], [["1"]], table_id="k", sortable=True))
    assert "<p" not in str(titled("T", body)) and "<table>" in str(table(["a"], [["1"]]))
    assert text_of(str(titled("T", note="no table here"))) == "T no table here"  # F4 when it has no sanity table


@pytest.mark.parametrize("means, words", [([1.81, 2.84, 2.26], "not monotone in p: 1.810, 2.840 and 2.260 at p"),
                                          ([1.2, 0.9, 0.5], "the mean falls from 1.200 at p = 0.25 to 0.500"),
                                          ([0.5, 0.9, 1.2], "the mean rises from 0.500 at p = 0.25 to 1.200")])
def test_f2_says_whether_the_mean_loss_is_monotone_in_p(means, words):
    """F2's trend sentence on made-up means: a mean that rises and then falls is not called a fall or
    a rise between its ends."""
    import polars as pl
    from types import SimpleNamespace

    from reports.sections import f2
    probs = [0.25, 0.5, 0.75]
    stats = pl.DataFrame({"keep_prob": probs, "n": [100] * 3, "mean_loss": means, "std_loss": [0.4] * 3,
                          "all_on_count": [0, 0, 1], "skew_loss": [1.1, 1.2, 1.3]})
    ctx = SimpleNamespace(wh=SimpleNamespace(run_frame=lambda sql, params=None: stats), p_low=0.25, p_high=0.75,
                          keep_probs=probs, run={"test_loss": 0.12}, kernel_width=0.03)
    text = f2.caption(ctx)
    assert words in text, text


FIGURES = {"f2", "f3", "f4", "f5", "f6", "f7", "f8", "f9", "f10", "f11", "exact-densities", "exact-means",
           "importance", "interactions", "gradient-vs-knockout", "sizes", "complements"}


def test_captions_that_name_panels_sit_under_charts_that_have_them(page):
    from tests import chart_specs
    assert chart_specs.panel_words_have_panels(page.source) >= 4


def test_every_figure_section_draws_its_chart(page):
    """The sections that are figures each hold their chart (F1 is the page's own interactive map; the
    single knockouts and replication are tables)."""
    drawn = {name for name, body in page.sections.items() if f'<div class="chart" id="vis-{name}">' in body}
    assert drawn == FIGURES
    assert '<div id="f1-readout"' in page.sections["f1"]
