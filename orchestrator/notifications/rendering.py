"""Rendering messages from the Jinja2 templates in `templates/`: a subject, plain text and HTML.

Each message kind has three templates, `<kind>.subject.txt`, `<kind>.txt` and `<kind>.html`.
Only the HTML is autoescaped; every template is strict, so a missing value fails loudly here
instead of reaching someone's inbox as an empty gap.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).parent / "templates"


@dataclass(frozen=True)
class RenderedMessage:
    """A message ready to queue: one-line subject, plain-text body and HTML body."""

    subject: str
    text: str
    html: str


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render_message(kind: str, context: Mapping[str, Any]) -> RenderedMessage:
    """Render the three templates of a message kind with `context`."""
    environment = _environment()
    subject = environment.get_template(f"{kind}.subject.txt").render(context)
    return RenderedMessage(
        subject=" ".join(subject.split()),
        text=environment.get_template(f"{kind}.txt").render(context),
        html=environment.get_template(f"{kind}.html").render(context),
    )
