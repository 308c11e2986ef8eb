"""What a reader relies on in every chart, checked on the Vega-Lite JSON a page embeds: each encoded
field is in the chart's data, each number format is one d3 reads, quantitative tooltips say how they
round, colours that diverge are centred on zero, every legend entry and axis order names values the
data holds, and no axis is titled with a column name. Each check returns how many things it checked,
so a caller can tell a pass from a walk that found nothing."""
from __future__ import annotations

import csv
import io
import re

D3_FORMAT = re.compile(r"^(?:.?[<>=^])?[-+( ]?[$#]?0?\d*,?(?:\.\d+)?~?[eEfgGrsp%bcdoxXn]?$")
DIVERGING = {"blueorange", "redblue", "redyellowblue", "purpleorange", "brownbluegreen", "purplegreen",
             "pinkyellowgreen", "redgrey", "spectral"}


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
        if "fold" in t:
            made = made | set(t.get("as", ["key", "value"]))
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


def all_views(specs: dict):
    for anchor, spec in specs.items():
        for view, rows, made in views(spec, spec.get("datasets", {})):
            yield anchor, view, rows, made


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


def fields_in_data(specs: dict) -> int:
    checked = 0
    for anchor, view, rows, made in all_views(specs):
        columns = set(rows[0]) if rows else set()
        for channel, item in encodings(view):
            # a tooltip line without a field shows nothing (or the whole datum)
            assert channel != "tooltip" or (isinstance(item, dict) and "field" in item), f"{anchor}: tooltip {item}"
            if isinstance(item, dict) and "field" in item:
                assert item["field"] in columns | made, f"{anchor}: {channel} encodes {item['field']!r}, " \
                                                        f"not a column of its data ({sorted(columns | made)})"
                checked += 1
    return checked


def formats_d3_reads(specs: dict) -> int:
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
    for path, value in formats:
        assert D3_FORMAT.match(value), f"{path}: {value!r} is not a d3 number format"
    return len(formats)


def tooltips_say_how_they_round(specs: dict) -> int:
    checked = 0
    for anchor, view, rows, made in all_views(specs):
        for channel, item in encodings(view):
            if channel == "tooltip" and item.get("type") == "quantitative" and rows and item["field"] in rows[0]:
                values = [row[item["field"]] for row in rows]
                whole = all(v == "" or float(v).is_integer() for v in values)
                assert whole or "format" in item, f"{anchor}: tooltip {item['field']} shows raw floats"
                checked += 1
    return checked


def diverging_centred(specs: dict) -> int:
    found = 0
    for anchor, view, rows, made in all_views(specs):
        scale = view.get("encoding", {}).get("color", {}).get("scale", {})
        if scale.get("scheme") in DIVERGING:
            found += 1
            low, high = scale["domain"]
            assert low == -high and scale.get("domainMid", 0) == 0, f"{anchor}: {scale}"
    return found


def listed_values_drawn(specs: dict) -> int:
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
    return checked


def axes_titled_in_words(specs: dict) -> int:
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
    return checked


def page_specs(html: str) -> dict:
    """{chart id: Vega-Lite spec} as a page embeds them."""
    import json
    return json.loads(re.search(r'<script type="application/json" id="vega-specs">(.*?)</script>',
                                html, re.S).group(1))


def _has(spec, key: str) -> bool:
    """Whether the spec holds `key` (hconcat or vconcat) with two or more panels anywhere in it, or,
    for hconcat, a column facet over two or more values of its data."""
    if isinstance(spec, dict):
        if len(spec.get(key, [])) >= 2:
            return True
        facet = spec.get("facet")
        if key == "hconcat" and isinstance(facet, dict) and "column" in facet:
            data = spec.get("data", {}).get("name")
            rows = csv_rows(spec.get("datasets", {}).get(data, "")) if data else []
            if len({row.get(facet["column"]["field"]) for row in rows}) >= 2:
                return True
        return any(_has(v, key) for v in spec.values())
    if isinstance(spec, list):
        return any(_has(v, key) for v in spec)
    return False


def panel_words_have_panels(html: str) -> int:
    """A caption that says "Left:" or "Right," points at panels side by side, and "Top:" or "Bottom,"
    at panels one above the other: its chart has them (a caption written for two panels under a chart
    that drew one leaves the reader looking for the other)."""
    import html as html_module
    specs = page_specs(html)
    checked = 0
    for section in re.finditer(r'<section id="([^"]+)">(.*?)</section>', html, re.S):
        caption = re.search(r'<p class="caption">(.*?)</p>', section.group(2), re.S)
        if not caption:
            continue
        words = set(re.findall(r"\b(Left|Right|Top|Bottom)[,:]", html_module.unescape(re.sub("<[^>]+>", "", caption.group(1)))))
        spec = specs.get(f"vis-{section.group(1)}")
        if words & {"Left", "Right"}:
            assert spec is not None and _has(spec, "hconcat"), f"{section.group(1)}: {words} but no panels side by side"
            checked += 1
        if words & {"Top", "Bottom"}:
            assert spec is not None and _has(spec, "vconcat"), f"{section.group(1)}: {words} but no panels stacked"
            checked += 1
    return checked
