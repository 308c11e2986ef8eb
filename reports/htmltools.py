"""Data embedded in the page: JSON inside a <script> element that no string in the data can close."""

from __future__ import annotations

import json

from markupsafe import Markup, escape


def json_text(value) -> str:
    """JSON that can sit inside a <script> element: <, > and & become \\u escapes (still valid JSON),
    so no string in the data can close the element or open a comment."""
    text = json.dumps(value, separators=(",", ":"), allow_nan=False, ensure_ascii=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def json_script(element_id: str, value) -> Markup:
    return Markup(f'<script type="application/json" id="{escape(element_id)}">{json_text(value)}</script>')
