"""One self-contained HTML page: header, sections with charts and captions, the JavaScript inlined."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

import altair as alt
import vl_convert as vlc

from reports import theme
from reports.htmltools import json_script

STYLE = Path(__file__).with_name("page.css")
TABLE_SORT = Path(__file__).with_name("sort.js")


@dataclass
class Section:
    anchor: str
    title: str
    caption: str = ""
    chart: alt.TopLevelMixin | None = None
    body: str = ""  # HTML placed before the caption (F1's own canvas, or tables)
    after: str = ""  # HTML placed after the caption (tables that belong to the figure)

    @property
    def nav_label(self) -> str:
        """F1 … F11 for the study's figures, the anchor itself for other sections."""
        return self.anchor.upper() if self.anchor[:1] == "f" and self.anchor[1:].isdigit() else self.anchor

    @property
    def chart_id(self) -> str:
        return f"vis-{self.anchor}"


@lru_cache(maxsize=1)
def vega_bundle() -> str:
    """Vega, Vega-Lite and vega-embed as one script (from the vl-convert package: no CDN, no network)."""
    bundle = vlc.javascript_bundle(vl_version=alt.SCHEMA_VERSION.lstrip("v").rsplit(".", 1)[0])
    # A literal "</script" inside would end the element early; the bundle has none, but make sure.
    return bundle.replace("</script", "<\\/script")


def spec(chart: alt.TopLevelMixin) -> dict:
    return theme.configure(chart).to_dict()


EMBED = """
window.knockoutReport = { expected: 0, rendered: 0, errors: [], views: {} };
(function () {
  const specs = JSON.parse(document.getElementById("vega-specs").textContent);
  const report = window.knockoutReport;
  report.expected = Object.keys(specs).length;
  for (const [id, spec] of Object.entries(specs)) {
    vegaEmbed("#" + id, spec, { actions: false, renderer: "canvas" })
      .then((result) => { report.views[id] = result.view; report.rendered += 1; })
      .catch((error) => { report.errors.push(id + ": " + error); console.error(id, error); });
  }
})();
"""


def _section_html(section: Section) -> str:
    chart = f'<div class="chart" id="{escape(section.chart_id)}"></div>' if section.chart is not None else ""
    caption = f'<p class="caption">{escape(section.caption)}</p>' if section.caption else ""
    return (
        f'<section id="{escape(section.anchor)}"><h2>{escape(section.title)}</h2>'
        f"{section.body}{chart}{caption}{section.after}</section>"
    )


def render(title: str, header: str, sections: list[Section], scripts: list[str]) -> str:
    specs = {s.chart_id: spec(s.chart) for s in sections if s.chart is not None}
    nav = " · ".join(f'<a href="#{escape(s.anchor)}">{escape(s.nav_label)}</a>' for s in sections)
    body = "\n".join(_section_html(s) for s in sections)
    extra = "\n".join(f"<script>{js}</script>" for js in scripts)
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>{STYLE.read_text(encoding="utf-8")}</style>
</head>
<body>
<main>
{header}
<nav>{nav}</nav>
{body}
</main>
{json_script("vega-specs", specs)}
<script>{vega_bundle()}</script>
<script>{EMBED}</script>
<script>{TABLE_SORT.read_text(encoding="utf-8")}</script>
{extra}
</body>
</html>
"""
