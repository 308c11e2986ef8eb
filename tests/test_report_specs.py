"""Every chart of the page is a valid Vega-Lite spec: the page skips Altair's validation for speed, so
it is done here, once, for every section's chart."""
from __future__ import annotations

import pytest

from reports import theme
from reports.context import load_context
from reports.page import render
from reports.warehouse import Warehouse, open_warehouse
from tests import chart_specs


@pytest.fixture(scope="module")
def built(small_store):
    con = open_warehouse(small_store)
    try:
        ctx = load_context(Warehouse(con))
        _, sections = render(ctx)
        yield sections
    finally:
        con.close()


def test_every_chart_validates_against_the_vega_lite_schema(built):
    charts = [s for s in built if s.chart is not None]
    assert len(charts) >= 16
    for section in charts:
        spec = theme.spec(section.chart, validate=True)  # raises on a spec Vega-Lite would reject
        assert spec["config"]["axis"]["labelFontSize"] == theme.CONFIG["axis"]["labelFontSize"], section.anchor


def test_the_json_config_is_what_configure_would_set(built):
    chart = next(s.chart for s in built if s.chart is not None)
    assert theme.configure(chart).to_dict(validate=False)["config"] == theme.spec(chart)["config"]


def test_chart_data_keeps_five_significant_digits_and_missing_values_missing():
    import csv
    import io
    import math

    import polars as pl

    from reports.vldata import inline

    frame = pl.DataFrame({"x": [0.123456789, -1234567.0, float("nan"), float("inf"), None],
                          "n": [1, 2, 3, 40000000, 5], "s": ["a", None, "c,d", "e", "f"]})
    data = inline(frame).to_dict()
    assert data["format"] == {"type": "csv", "parse": {"x": "number", "n": "number"}}
    rows = list(csv.reader(io.StringIO(data["values"])))
    assert rows[0] == ["x", "n", "s"]
    # read back as a chart reads it: each number within half a unit of its 5th significant digit
    for (x, n, s), want_x, want_n, want_s in zip(rows[1:], frame["x"], frame["n"], frame["s"]):
        if want_x is None or not math.isfinite(want_x):
            assert x == ""
        else:
            assert abs(float(x) - want_x) <= 0.5 * 10 ** (math.floor(math.log10(abs(want_x))) - 4)
        assert int(n) == want_n and s == ("" if want_s is None else want_s)


# --- what a reader relies on in every chart (tests/chart_specs.py), walked over every chart on the page

@pytest.fixture(scope="module")
def specs(built):
    return {s.anchor: theme.spec(s.chart) for s in built if s.chart is not None}


def test_every_encoded_field_is_in_its_charts_data(specs):
    assert chart_specs.fields_in_data(specs) > 100


def test_every_number_format_is_one_d3_reads(specs):
    assert chart_specs.formats_d3_reads(specs) > 20
    for quantity in (".4f", "+.4f", ".2~f", "~g", ".1%"):  # the pattern itself tells a format from a typo
        assert chart_specs.D3_FORMAT.match(quantity)
    for typo in ("XX.4fXX", ".4 f", "4f.", "%%"):
        assert not chart_specs.D3_FORMAT.match(typo)


def test_every_quantitative_tooltip_says_how_it_rounds(specs):
    assert chart_specs.tooltips_say_how_they_round(specs) > 20


def test_diverging_colours_are_centred_on_zero(specs):
    assert chart_specs.diverging_centred(specs) >= 2


def test_every_legend_entry_and_axis_order_names_values_the_data_holds(specs):
    assert chart_specs.listed_values_drawn(specs) >= 15


def test_no_axis_is_titled_with_a_column_name(specs):
    assert chart_specs.axes_titled_in_words(specs) > 40


def test_nodes_said_to_be_in_shapley_order_are_in_shapley_order(specs, small_store):
    """Axes titled "most helpful by Shapley value first" list the nodes by their exact Shapley value,
    most negative (switching the node on lowers the loss most) first; read from the Shapley mart."""
    con = open_warehouse(small_store)
    try:
        values = Warehouse(con).run_frame("select node, shapley from shapley_values where run_id = $run").rows()
    finally:
        con.close()
    want = [node for node, shapley in sorted(values, key=lambda r: (r[1], r[0]))]
    found = 0
    for anchor, view, rows, made in chart_specs.all_views(specs):
        for channel, item in chart_specs.encodings(view):
            if "by Shapley value first" in str(item.get("title", "")):
                assert item["sort"] == want, f"{anchor}: {channel} order {item['sort']} is not {want}"
                found += 1
    assert found >= 2
