"""Structured logging with structlog, configured once per process.

Production (`ENTREMISE_ENV=production`) writes one JSON object per line; development writes
coloured console lines. Records of the standard library (uvicorn, SQLAlchemy, alembic) go through
the same processors, so they get the same format and the same redaction.

Every event passes through `redact`: any key named like a password, token, secret, cookie,
credential, API key or authorization header is removed, at any depth, before anything is written.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

SENSITIVE = re.compile(
    r"password|passwd|passphrase|token|secret|authori[sz]ation|cookie|credential|api[-_]?key|totp|private[-_]?key",
    re.IGNORECASE,
)

_configured = False


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever `sys.stderr` is at the time of each record (test runners swap it)."""

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def _scrub(value: Any) -> Any:
    if isinstance(value, MutableMapping):
        return {k: _scrub(v) for k, v in value.items() if not (isinstance(k, str) and SENSITIVE.search(k))}
    if isinstance(value, (list, tuple)):
        return type(value)(_scrub(v) for v in value)
    return value


def redact(_logger: WrappedLogger, _method: str, event_dict: EventDict) -> EventDict:
    """Remove every key named like a secret from the event (nested mappings included)."""
    for key in [k for k in event_dict if SENSITIVE.search(k)]:
        del event_dict[key]
    for key, value in event_dict.items():
        if isinstance(value, (MutableMapping, list, tuple)):
            event_dict[key] = _scrub(value)
    return event_dict


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        redact,
    ]


def configure_logging(
    *, production: bool, level: str = "INFO", stream: TextIO | None = None, force: bool = False
) -> None:
    """Configure structlog and the standard library's logging. Later calls do nothing unless `force`."""
    global _configured
    if _configured and not force:
        return
    shared = _shared_processors()
    renderer: Processor
    if production:
        renderer = structlog.processors.JSONRenderer()
        final: list[Processor] = [structlog.processors.format_exc_info, renderer]
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=(stream or sys.stderr).isatty())
        final = [renderer]
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, *final],
    )
    handler: logging.Handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        lib = logging.getLogger(name)
        lib.handlers.clear()
        lib.propagate = True
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.processors.StackInfoRenderer(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        # not cached, so structlog.testing.capture_logs() sees every logger
        cache_logger_on_first_use=False,
    )
    _configured = True
