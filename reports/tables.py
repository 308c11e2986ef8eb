"""Tables of the page, rendered by templates/table.html.j2: cells are escaped text, numeric columns
right-aligned, a sortable table sorts by a click on a heading (sort.js)."""

from __future__ import annotations

from markupsafe import Markup

from reports.templating import render


def table(columns: list[str], rows: list[list], *, table_id: str | None = None,
          numeric: set[int] | range = frozenset(), sortable: bool = False) -> Markup:
    return render("table.html.j2", columns=columns, rows=rows, table_id=table_id, numeric=set(numeric),
                  sortable=sortable)


def titled(title: str, body: Markup | str = "", note: str = "") -> Markup:
    """A table under its own heading (T1, T2, …), with an optional line of explanation."""
    return render("titled_table.html.j2", title=title, table=body, note=note)
