"""Every chart of the page is a valid Vega-Lite spec: the page skips Altair's validation for speed, so
it is done here, once, for every section's chart."""
from __future__ import annotations

import csv
import io
import re

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


# --- what a reader relies on in every chart: each encoded field is in the chart's data, each number
# format is one d3 can read, colours that diverge are centred on zero, and every legend entry and axis
# order names values the data holds. Walked over the Vega-Lite JSON of every chart on the page.

D3_FORMAT = re.compile(r"^(?:.?[<>=^])?[-+( ]?[$#]?0?\d*,?(?:\.\d+)?~?[eEfgGrsp%bcdoxXn]?$")
DIVERGING = {"blueorange", "redblue", "redyellowblue", "purpleorange", "brownbluegreen", "purplegreen",
             "pinkyellowgreen", "redgrey", "spectral"}
CHANNELS = ("x", "y", "x2", "y2", "color", "strokeDash", "detail", "text", "order", "xOffset", "size", "opacity",
            "shape", "row", "column", "facet", "theta")


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def views(spec: dict, datasets: dict, data: str | None = None, made: frozenset = frozenset()):
    """(view spec, rows of its data, fields its transforms make) for every view holding an encoding
    or a facet, with data and transforms inherited as Vega-Lite inherits them."""
    data = spec.get("data", {}).get("name", data)
    for t in spec.get("transform", []):
        if "calculate" in t:
            made = made | {t["as"]}
        if "regression" in t:
            made = made | {t["on"], t["regression"]}
    if "encoding" in spec or "facet" in spec:
        yield spec, csv_rows(datasets[data]) if data else [], made
    for key in ("layer", "hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from views(child, datasets, data, made)
    if "spec" in spec:
        yield from views(spec["spec"], datasets, data, made)


def encodings(view: dict):
    """(channel, definition) of a view's encoding and facet, tooltips one by one."""
    for channel, definition in view.get("encoding", {}).items():
        for item in definition if isinstance(definition, list) else [definition]:
            yield channel, item
    facet = view.get("facet")
    if facet:
        for channel, item in ([("facet", facet)] if "field" in facet else facet.items()):
            yield channel, item


@pytest.fixture(scope="module")
def specs(built):
    return {s.anchor: theme.spec(s.chart) for s in built if s.chart is not None}


def all_views(specs):
    for anchor, spec in specs.items():
        for view, rows, made in views(spec, spec.get("datasets", {})):
            yield anchor, view, rows, made


def test_every_encoded_field_is_in_its_charts_data(specs):
    checked = 0
    for anchor, view, rows, made in all_views(specs):
        columns = set(rows[0]) if rows else set()
        for channel, item in encodings(view):
            if isinstance(item, dict) and "field" in item:
                assert item["field"] in columns | made, f"{anchor}: {channel} encodes {item['field']!r}, " \
                                                        f"not a column of its data ({sorted(columns | made)})"
                checked += 1
    assert checked > 100


def test_every_number_format_is_one_d3_reads(specs):
    formats = []

    def walk(node, path):
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "format" and isinstance(value, str):
                    formats.append((path, value))
                walk(value, f"{path}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}/{i}")
    walk(specs, "")
    assert len(formats) > 20
    for path, value in formats:
        assert D3_FORMAT.match(value), f"{path}: {value!r} is not a d3 number format"
    for quantity in (".4f", "+.4f", ".2~f", "~g", ".1%"):  # the pattern itself tells a format from a typo
        assert D3_FORMAT.match(quantity)
    for typo in ("XX.4fXX", ".4 f", "4f.", "%%"):
        assert not D3_FORMAT.match(typo)


def test_every_quantitative_tooltip_says_how_it_rounds(specs):
    for anchor, view, rows, made in all_views(specs):
        for channel, item in encodings(view):
            if channel == "tooltip" and item.get("type") == "quantitative" and rows:
                values = [row.get(item["field"], "") for row in rows]
                whole = all(v == "" or float(v).is_integer() for v in values)
                assert whole or "format" in item, f"{anchor}: tooltip {item['field']} shows raw floats"


def test_diverging_colours_are_centred_on_zero(specs):
    found = 0
    for anchor, view, rows, made in all_views(specs):
        scale = view.get("encoding", {}).get("color", {}).get("scale", {})
        if scale.get("scheme") in DIVERGING:
            found += 1
            low, high = scale["domain"]
            assert low == -high and scale.get("domainMid", 0) == 0, f"{anchor}: {scale}"
    assert found >= 2


def test_every_legend_entry_and_axis_order_names_values_the_data_holds(specs):
    """A colour domain or sort list that names a value the chart never draws is a legend entry or an
    axis slot for nothing; a drawn value it leaves out gets no colour the legend explains."""
    checked = 0
    for anchor, spec in specs.items():
        drawn: dict[str, set[str]] = {}
        listed = []
        for view, rows, made in views(spec, spec.get("datasets", {})):
            for channel, item in encodings(view):
                field = item.get("field") if isinstance(item, dict) else None
                if field is None or item.get("type") not in ("nominal", "ordinal") or not rows or field not in rows[0]:
                    continue
                values = {row[field] for row in rows}
                drawn.setdefault(field, set()).update(values)
                for key, names in (("sort", item.get("sort")), ("domain", item.get("scale", {}).get("domain"))):
                    if isinstance(names, list):
                        listed.append((channel, key, field, {str(n) for n in names}, values))
        for channel, key, field, names, values in listed:
            assert values <= names, f"{anchor}: {channel} {key} of {field} misses {values - names}"
            assert names <= drawn[field], f"{anchor}: {channel} {key} of {field} names {names - drawn[field]}"
            checked += 1
    assert checked >= 15


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
    for anchor, view, rows, made in all_views(specs):
        for channel, item in encodings(view):
            if "by Shapley value first" in str(item.get("title", "")):
                assert item["sort"] == want, f"{anchor}: {channel} order {item['sort']} is not {want}"
                found += 1
    assert found >= 2


def axis_groups(spec: dict):
    """The views that draw one set of axes: a layer's members together, any other view alone."""
    if "layer" in spec:
        yield spec["layer"]
    elif "encoding" in spec:
        yield [spec]
    for key in ("hconcat", "vconcat", "concat"):
        for child in spec.get(key, []):
            yield from axis_groups(child)
    if "spec" in spec:
        yield from axis_groups(spec["spec"])


def test_no_axis_is_titled_with_a_column_name(specs):
    """Vega-Lite titles an axis with its field's name unless told otherwise; a page that shows "x" or
    "density" under an axis has left a reader to guess. Every x and y axis that draws a field has a
    title of its own (or none, on purpose) in one of the layers that share it; a legend without one
    shows a field named in words."""
    checked = 0
    for anchor, spec in specs.items():
        for group in axis_groups(spec):
            for channel in ("x", "y", "color", "strokeDash"):
                defs = [m.get("encoding", {}).get(channel) for m in group]
                defs = [d for d in defs if isinstance(d, dict) and "field" in d]
                if not defs:
                    continue
                checked += 1
                guide = "axis" if channel in ("x", "y") else "legend"
                titled = any("title" in d or d.get(guide, {}) is None or "title" in (d.get(guide) or {})
                             for d in defs)
                if channel in ("x", "y"):
                    assert titled, f"{anchor}: the {channel} axis of {[d['field'] for d in defs]} has no title"
                else:
                    assert titled or " " in defs[0]["field"], f"{anchor}: legend titled {defs[0]['field']!r}"
    assert checked > 40
