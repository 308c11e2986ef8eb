"""The one Jinja2 environment of the page: templates in reports/templates, every value escaped unless
it is already markup (a rendered table, F1's controls)."""

from __future__ import annotations

from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

TEMPLATES = Path(__file__).with_name("templates")

ENV = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    undefined=StrictUndefined,  # a misspelt name fails the build instead of vanishing from the page
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
)


def render(template: str, **context) -> Markup:
    """A template of reports/templates rendered to markup that the page places as it is."""
    return Markup(ENV.get_template(template).render(**context))
