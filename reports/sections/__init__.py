"""One module per section of the page, each owning its query, its chart and its caption.

A module `reports.sections.<name>` has `section(ctx) -> Section | None` (None: nothing to show for
this run, e.g. the exact sections of a store without exhaustive masks). The page template
(templates/page.html.j2) lists the sections in page order by these names.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass

import altair as alt
from markupsafe import Markup


@dataclass
class Section:
    anchor: str
    title: str
    caption: str = ""
    chart: alt.TopLevelMixin | None = None
    body: Markup = Markup("")  # placed before the chart (F1's canvas, a table that is the section)
    after: Markup = Markup("")  # placed after the caption (tables that belong to the figure)
    nav: str = ""  # the link in the navigation bar; F1 … F11 for the study's figures

    @property
    def nav_label(self) -> str:
        if self.nav:
            return self.nav
        return self.anchor.upper() if self.anchor[:1] == "f" and self.anchor[1:].isdigit() else self.anchor

    @property
    def chart_id(self) -> str:
        return f"vis-{self.anchor}"


def missing(value) -> bool:
    """A statistic that does not exist for this run (None from SQL, or NaN from a division by zero: one
    mask, one path, one node, no spread). A caption then says why in words, never "—" or "nan"."""
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def build(name: str, ctx) -> Section | None:
    return importlib.import_module(f"{__name__}.{name}").section(ctx)
