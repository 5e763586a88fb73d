"""Jinja templates of the HTML outputs, with autoescape always on: every page the package writes (city report
sections, comparison report, validation report) is built here, so no submitted string reaches HTML unescaped and
every page shares the one stylesheet (`templates/report.css`)."""

from __future__ import annotations

import functools
import re
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup, escape

from .display import BAND_COLOURS, BAND_LABELS, BAND_TEXT
from .paths import bundled

#: No request leaves the page: inline styles and embedded images only.
CONTENT_SECURITY_POLICY = "default-src 'none'; img-src data:; style-src 'unsafe-inline'"


@functools.cache
def environment(folder: str) -> Environment:
    """The environment of one template folder under `templates/` (autoescaped, also for templates from strings)."""
    env = Environment(
        loader=FileSystemLoader(str(bundled("templates", folder))),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["breakable"] = breakable
    env.filters["whole_numbers"] = whole_numbers
    env.globals.update(colours=BAND_COLOURS, text_colours=BAND_TEXT, band_labels=BAND_LABELS, css=stylesheet(),
                       csp=CONTENT_SECURITY_POLICY)
    return env


_BREAK_AFTER = re.compile(r"([/._?=&-])(?=[^/._?=&-])")


def breakable(text: object) -> Markup:
    """A URL or code, escaped, with a line-break opportunity after / . - _ ? = & so that a long link wraps at
    those rather than inside a word (NULs, which mark the break points here, are dropped)."""
    parts = _BREAK_AFTER.sub("\\1\x00", str(text).replace("\x00", "")).split("\x00")
    return Markup("<wbr>").join(escape(part) for part in parts)


_GROUP_SPACE = re.compile(r"(?<=\d) (?=\d{3}\b)")


def whole_numbers(text: object) -> str:
    """A figure with its thousands kept on one line ("100 000" never wraps between its groups)."""
    return _GROUP_SPACE.sub("\u00a0", str(text))


def render(folder: str, name: str, **context: Any) -> str:
    return environment(folder).get_template(name).render(**context)


@functools.lru_cache(maxsize=1)
def stylesheet() -> str:
    return bundled("templates", "report.css").read_text(encoding="utf-8")
