"""HTML pages the privacy module renders itself (the export summary, the unsubscribe page), from
templates beside this file, autoescaped and strict about missing values."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import jinja2


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).resolve().parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def template(name: str) -> jinja2.Template:
    return _environment().get_template(name)


def language(locale: str, known: tuple[str, ...] = ("fr", "en")) -> str:
    """The language of `locale` when the pages have it, else French."""
    base = locale.replace("_", "-").split("-")[0].lower()
    return base if base in known else "fr"
