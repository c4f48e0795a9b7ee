"""Render a template of the outbox into a message: subject, plain text and HTML, or an SMS text.

Templates live in `notify/templates/<locale>/<name>.<part>.j2` where part is `subject`, `txt`,
`html` (optional) for e-mail and `sms` for SMS. The locale falls back to its language, then to
French. Every part comes from the same locale (never an English subject over a French body).

Jinja2 runs with `StrictUndefined`: a missing payload key is an error, never an empty hole.
HTML parts are autoescaped; text parts are not (they are not HTML).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template, TemplateNotFound

from entremise.notify.domain import format_date, format_datetime, locale_candidates

TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_TIMEZONE = "Europe/Paris"
_NAME = re.compile(r"^[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+$")
# the part that decides whether a locale has the template, per channel
_KEY_PART = {"email": "subject", "sms": "sms"}


class RenderError(Exception):
    """The message cannot be rendered (unknown template, missing variable, bad value).

    Retrying cannot fix it: the dispatcher marks the message dead with this error."""


@dataclass(frozen=True)
class Rendered:
    locale: str  # the locale actually used, after fallback
    text: str
    subject: str | None = None  # e-mail only
    html: str | None = None  # e-mail only, when the template has an HTML part


@lru_cache(maxsize=64)
def _environment(locale: str, timezone: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES_DIR),
        undefined=StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html.j2",), default_for_string=False),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        auto_reload=False,
    )
    env.filters["date"] = lambda value: format_date(value, locale, timezone)
    env.filters["datetime"] = lambda value: format_datetime(value, locale, timezone)
    env.globals["locale"] = locale
    return env


def _get(env: Environment, path: str) -> Template | None:
    try:
        return env.get_template(path)
    except TemplateNotFound:
        return None


def _render_part(template: Template, payload: Mapping[str, Any]) -> str:
    try:
        return template.render(payload)
    except jinja2.UndefinedError as exc:
        raise RenderError(f"{template.name}: {exc.message}") from exc
    except jinja2.TemplateError as exc:
        raise RenderError(f"{template.name}: {exc}") from exc
    except (ValueError, TypeError, LookupError) as exc:  # a filter given a bad value (e.g. a date)
        raise RenderError(f"{template.name}: {type(exc).__name__}: {exc}") from exc


def available_locales(name: str, channel: str) -> list[str]:
    """The locales that have this template for this channel (for checks and docs)."""
    part = _KEY_PART[channel]
    return sorted(
        d.name for d in TEMPLATES_DIR.iterdir() if d.is_dir() and (d / f"{name}.{part}.j2").is_file()
    )


def render(
    name: str,
    channel: str,
    locale: str | None,
    payload: Mapping[str, Any],
    *,
    timezone: str = DEFAULT_TIMEZONE,
) -> Rendered:
    """Render template `name` for `channel` ("email" | "sms") in `locale` (falling back to French).

    Dates in the payload are ISO strings; templates format them with the `date` and `datetime`
    filters, in `locale` and `timezone` (the platform's)."""
    if channel not in _KEY_PART:
        raise RenderError(f"unknown channel {channel!r}")
    if not _NAME.match(name):
        raise RenderError(f"invalid template name {name!r}")
    if not isinstance(payload, Mapping):
        raise RenderError("the payload must be an object")
    key_part = _KEY_PART[channel]
    for candidate in locale_candidates(locale):
        env = _environment(candidate, timezone)
        key = _get(env, f"{candidate}/{name}.{key_part}.j2")
        if key is None:
            continue
        if channel == "sms":
            text = _render_part(key, payload).strip()
            if not text:
                raise RenderError(f"{key.name}: rendered an empty SMS")
            return Rendered(locale=candidate, text=text)
        subject = " ".join(_render_part(key, payload).split())  # one line: no header injection
        if not subject:
            raise RenderError(f"{key.name}: rendered an empty subject")
        body = _get(env, f"{candidate}/{name}.txt.j2")
        if body is None:
            raise RenderError(f"{candidate}/{name}.txt.j2 is missing (an e-mail needs a text part)")
        text = _render_part(body, payload).strip() + "\n"
        html_template = _get(env, f"{candidate}/{name}.html.j2")
        html = _render_part(html_template, payload) if html_template is not None else None
        return Rendered(locale=candidate, subject=subject, text=text, html=html)
    raise RenderError(f"no {channel} template {name!r} (looked in {', '.join(locale_candidates(locale))})")
