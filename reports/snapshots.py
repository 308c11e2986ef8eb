"""PNG snapshots of the headline figures, written beside the page (rendered by vl-convert, no browser)."""

from __future__ import annotations

from pathlib import Path

import altair as alt
import vl_convert as vlc

from reports import theme

SCALE = 2  # device pixels per CSS pixel: sharp on high-density screens and in a README


def write_png(chart: alt.TopLevelMixin, title: str, path: Path) -> Path:
    titled = chart.properties(title=title)
    png = vlc.vegalite_to_png(theme.configure(titled).to_dict(), scale=SCALE)
    path.write_bytes(png)
    return path
