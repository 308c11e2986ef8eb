"""The page: templates/page.html.j2 lists the sections; each is built by its module of
reports/sections, its chart embedded as a Vega-Lite spec and drawn in the browser by vega-embed."""

from __future__ import annotations

from pathlib import Path

from jinja2 import nodes
from markupsafe import Markup

from reports import dataset, sections, theme
from reports.bundle import vega_bundle
from reports.htmltools import json_script
from reports.templating import ENV

PAGE = "page.html.j2"
HERE = Path(__file__).parent
STYLE = HERE / "page.css"
SCRIPTS = [HERE / "embed.js", HERE / "sort.js", HERE / "heatmap.js"]


def section_names() -> list[str]:
    """Every section the template lists, in page order (read from the template, not rendered)."""
    source = ENV.loader.get_source(ENV, PAGE)[0]
    names = []
    for call in ENV.parse(source).find_all(nodes.Call):
        if isinstance(call.node, nodes.Name) and call.node.name in ("section", "sections"):
            for arg in call.args:
                value = arg.as_const()
                names += [value] if isinstance(value, str) else list(value)
    return names


def vega_specs(built: list[sections.Section]) -> Markup:
    """Every chart's Vega-Lite spec, unvalidated (slow, and a test's job: tests/test_report_specs.py)."""
    return json_script("vega-specs", {s.chart_id: theme.spec(s.chart) for s in built if s.chart is not None})


def render(ctx) -> tuple[str, list[sections.Section]]:
    """The whole page as text, and the sections on it."""
    built: list[sections.Section] = []

    def one(name: str) -> sections.Section | None:
        section = sections.build(name, ctx)
        if section is not None:
            built.append(section)
        return section

    def many(names: list[str]) -> list[sections.Section]:
        return [s for s in map(one, names) if s is not None]

    text = ENV.get_template(PAGE).render(
        section=one,
        page_title=dataset.network(ctx),
        sections=many,
        vega_specs=vega_specs,
        style=Markup(STYLE.read_text(encoding="utf-8")),
        vega_bundle=Markup(vega_bundle()),
        scripts=[Markup(p.read_text(encoding="utf-8")) for p in SCRIPTS],
    )
    return text, built
