"""Safe embedding of text and data in the page: every string goes through escape() or json_script()."""

from __future__ import annotations

import json
from html import escape

NUM = ' class="num"'


def json_text(value) -> str:
    """JSON that can sit inside a <script> element: <, > and & become \\u escapes (still valid JSON),
    so no string in the data can close the element or open a comment."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def json_script(element_id: str, value) -> str:
    return f'<script type="application/json" id="{escape(element_id)}">{json_text(value)}</script>'


def table(columns: list[str], rows: list[list], *, table_id: str | None = None,
          numeric: set[int] = frozenset(), sortable: bool = False) -> str:
    """An HTML table; cells are escaped text, columns in `numeric` right-aligned."""
    id_attr = f' id="{escape(table_id)}"' if table_id else ""
    if sortable:
        id_attr += ' class="sortable"'
    head = "".join(f'<th{NUM if i in numeric else ""}>{escape(str(c))}</th>' for i, c in enumerate(columns))
    body = "".join(
        "<tr>" + "".join(
            f'<td{NUM if i in numeric else ""}>{escape("" if v is None else str(v))}</td>'
            for i, v in enumerate(row)
        ) + "</tr>"
        for row in rows
    )
    return f"<table{id_attr}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
