"""Every chart of the page is a valid Vega-Lite spec: the page skips Altair's validation for speed, so
it is done here, once, for every section's chart."""
from __future__ import annotations

import pytest

from reports import theme
from reports.context import load_context
from reports.page import render
from reports.warehouse import Warehouse, open_warehouse


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
