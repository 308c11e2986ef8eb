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
