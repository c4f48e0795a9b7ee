"""Where modules plug into privacy: one exporter and any number of purgers each.

- An **exporter** returns, as JSON values, everything its module holds about one user; the export
  (COMMON-PRIVACY-1, GDPR arts. 15 and 20) is the union of every exporter's section.
- A **purger** deletes or erases what its module no longer may keep (COMMON-PRIVACY-3): given the
  platform, the time and the cutoff of its retention kind (`now` minus the platform's
  `retention_days[kind]`; None for a purger without a kind, such as held fields that carry their own
  end date), it returns how many records went and what they were, never their values.

The privacy module registers those of the modules older than itself (accounts, terms, audit, notify,
ledger, booking) in `entremise.privacy.builtin`. A later module adds its own in a module named
`entremise.<module>.privacy_hooks`, which `load_module_hooks()` imports before every export and
purge, so nothing depends on import order:

    # src/entremise/payments/privacy_hooks.py
    from entremise.privacy.registry import PurgeResult, register_exporter, register_purger

    register_exporter("payments", lambda db, platform, user_id: payments.export_data(db, ...))
    register_purger("payments.cards", kind="account", fn=purge_card_fingerprints)
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

import entremise
from entremise.platforms.service import PlatformView
from entremise.privacy import domain

Exporter = Callable[[Session, PlatformView, str], Any]


@dataclass(frozen=True)
class PurgeResult:
    count: int
    detail: dict[str, Any] = field(default_factory=dict)  # ids, field names: never the purged values
    rules: tuple[str, ...] = ()  # the rules that decided it, when they vary (held fields)


PurgeFn = Callable[[Session, PlatformView, "datetime | None", datetime], PurgeResult]


@dataclass(frozen=True)
class Purger:
    name: str
    kind: str | None  # a key of `retention_days`, or None when the records carry their own end date
    rules: tuple[str, ...]
    fn: PurgeFn


EXPORTERS: dict[str, Exporter] = {}
PURGERS: dict[str, Purger] = {}
_lock = threading.Lock()
_loaded = False


def register_exporter(section: str, fn: Exporter) -> None:
    """`fn(db, platform, user_id)` returns the module's data about the user, as JSON values."""
    with _lock:
        if EXPORTERS.get(section, fn) is not fn:
            raise ValueError(f"another exporter is registered as {section!r}")
        EXPORTERS[section] = fn


def register_purger(
    name: str, *, kind: str | None, fn: PurgeFn, rules: tuple[str, ...] = (domain.RULE_RETENTION,)
) -> None:
    """`fn(db, platform, cutoff, now)` purges what is older than `cutoff` (the retention of `kind`)."""
    purger = Purger(name, kind, rules, fn)
    with _lock:
        if PURGERS.get(name, purger) != purger:
            raise ValueError(f"another purger is registered as {name!r}")
        PURGERS[name] = purger


def load_module_hooks() -> None:
    """Import the built-in hooks and every `entremise.<module>.privacy_hooks` there is (once)."""
    global _loaded
    if _loaded:
        return
    importlib.import_module("entremise.privacy.builtin")
    for info in pkgutil.iter_modules(entremise.__path__):
        if info.ispkg and importlib.util.find_spec(f"entremise.{info.name}.privacy_hooks") is not None:
            importlib.import_module(f"entremise.{info.name}.privacy_hooks")
    _loaded = True
