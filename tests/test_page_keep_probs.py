"""Any --keep-probs gives a whole page: with two keep probabilities that are not the study's (0.3, 0.6)
and with one (0.5), every section renders, nothing reads "nan", "None" or "null", and no keep probability
the run did not sample is named, except as the study's own in a sentence that says so."""
from __future__ import annotations

import html
import json
import re
import shutil

import pytest
from playwright import sync_api

from reports.build import build_report
from tests.conftest import small_args

MISSING = re.compile(r"\b(nan|NaN|None|null|undefined|inf|Infinity)\b")
P_LABEL = re.compile(r"\bp = (\d+(?:\.\d+)?)")
CHROMIUM = "/usr/bin/chromium"


def visible_text(source: str) -> str:
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", source, flags=re.S)
    return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", body)))


def strings(value):
    """Every string inside a JSON value (keys and values), CSV data split into its cells."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield k
            yield from strings(v)
    elif isinstance(value, list):
        for v in value:
            yield from strings(v)
    elif isinstance(value, str):
        yield from re.split(r"[,\n]", value) if "\n" in value else [value]


@pytest.fixture(scope="module", params=["0.3,0.6", "0.5"])
def built(request, tmp_path_factory, shared_store):
    store = shared_store(*small_args(train_seeds="0", keep_probs=request.param))  # also read by test_warehouse_layers
    out = tmp_path_factory.mktemp("page") / "index.html"
    build_report(store, out)
    return [float(p) for p in request.param.split(",")], out


def test_every_section_is_on_the_page(built):
    _, out = built
    sections = re.findall(r'<section id="([^"]+)"', out.read_text(encoding="utf-8"))
    assert sections == [f"f{i}" for i in range(1, 12)] + ["knockouts", "exact-densities", "exact-means", "importance",
                                                           "interactions",
                                                           "gradient-vs-knockout", "sizes", "complements", "replication"]


def test_no_missing_value_reaches_the_page(built):
    _, out = built
    source = out.read_text(encoding="utf-8")
    text = visible_text(source)
    assert not [m.group(0) for m in MISSING.finditer(text)], [text[max(0, m.start() - 80):m.end() + 20]
                                                             for m in MISSING.finditer(text)]
    specs = json.loads(re.search(r'<script type="application/json" id="vega-specs">(.*?)</script>', source, re.S).group(1))
    data = json.loads(re.search(r'<script type="application/json" id="f1-data">(.*?)</script>', source, re.S).group(1))
    found = [s for s in list(strings(specs)) + list(strings(data)) if MISSING.search(s)]
    assert not found


def test_only_sampled_keep_probabilities_are_named(built):
    probs, out = built
    source = out.read_text(encoding="utf-8")
    sampled = {f"{p:g}" for p in probs}
    # in the text: a p the run did not sample only in a sentence about the study's p, or about the exact
    # curves, which exist at every p of their grid
    text = visible_text(source)
    for sentence in re.split(r"(?<=[.;:])\s|\s(?=quantity|sanity check|p masks)", text):
        for p in P_LABEL.findall(sentence):
            if p not in sampled:
                assert "study" in sentence or "exact grid of p" in sentence, sentence
    # in tables: a row that names another p is about the study's p
    for row in re.findall(r"<tr>(.*?)</tr>", source, re.S):
        cells = visible_text(row)
        for p in P_LABEL.findall(cells):
            assert p in sampled or "study" in cells, cells
    # in the charts (legends, titles, data): only sampled p
    specs = json.loads(re.search(r'<script type="application/json" id="vega-specs">(.*?)</script>', source, re.S).group(1))
    labels = {p for s in strings(specs) for p in P_LABEL.findall(s)}
    assert labels and labels <= sampled, labels
    # section titles
    for title in re.findall(r"<h2>(.*?)</h2>", source):
        assert set(P_LABEL.findall(title)) <= sampled, title


def test_what_cannot_be_compared_is_said_in_words(built):
    probs, out = built
    text = visible_text(out.read_text(encoding="utf-8"))
    assert "this run at p = " in text and "compared only where this run sampled that p too" in text
    assert "counts among the samples are not compared" in text
    if len(probs) == 1:
        assert "The study's sanity check needs two keep probabilities" in text
        assert 'id="sanity"' not in out.read_text(encoding="utf-8")
        assert "sanity check ratio (needs two keep probabilities)" in text
    else:
        assert "this run's keep probabilities differ, so the study's numbers are not set beside its own" in text


@pytest.fixture(scope="module")
def browser():
    if not shutil.which(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()


def test_every_chart_draws_in_the_browser(built, browser):
    _, out = built
    tab = browser.new_page(viewport={"width": 1024, "height": 800})
    errors = []
    tab.on("pageerror", lambda e: errors.append(str(e)))
    tab.goto(out.as_uri())
    tab.wait_for_function("window.knockoutReport && knockoutReport.rendered + knockoutReport.errors.length"
                          " === knockoutReport.expected", timeout=60_000)
    assert tab.evaluate("knockoutReport.errors") == [] and errors == []
    assert tab.evaluate("knockoutReport.rendered") == tab.locator("div.chart").count()
    # the page fits the window: nothing wider than 1024 px
    assert tab.evaluate("document.documentElement.scrollWidth") <= 1024
    tab.close()
