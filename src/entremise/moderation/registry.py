"""Kinds of content the moderation queue handles, and kinds of decisions a complaint can reverse.

A module whose content can be notified or moderated registers its kind once, at import:

    register_content_kind("review", locate=locate, apply=apply)

- `locate(db, platform_id, content_id)` returns a `ContentRef` (author, excerpt, url) or None when
  there is no such content on that platform. A dict with the keys `author_id`, `excerpt` and `url`
  is accepted too.
- `apply(db, platform_id, content_id, action, now)` carries out a human decision: `action` is one of
  `ACTIONS` (remove, restrict, restore, publish), in the caller's transaction.

A module that imposes decisions outside the queue (sanctions) registers a reverser, so that an
internal complaint found well-founded (LAW-DSA-20) undoes its decision:

    register_decision_reverser("sanction", reverse)   # reverse(db, platform_id, source_id, by, reasons, now)

Modules may also ship `entremise.<module>.moderation_hooks`, imported the first time a kind is
looked up, so nothing depends on import order.
"""

from __future__ import annotations

import importlib
import importlib.util
import pkgutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

import entremise

ACTIONS = ("remove", "restrict", "restore", "publish")


@dataclass(frozen=True)
class ContentRef:
    author_id: str
    excerpt: str = ""
    url: str | None = None


Locate = Callable[[Session, str, str], "ContentRef | dict[str, Any] | None"]
Apply = Callable[[Session, str, str, str, datetime], None]
Reverser = Callable[[Session, str, str, str, str, datetime], None]


@dataclass(frozen=True)
class ContentKind:
    name: str
    locate: Locate
    apply: Apply


KINDS: dict[str, ContentKind] = {}
REVERSERS: dict[str, Reverser] = {}
_lock = threading.Lock()
_loaded = False


def register_content_kind(kind: str, *, locate: Locate, apply: Apply) -> None:
    with _lock:
        KINDS[kind] = ContentKind(kind, locate, apply)


def register_decision_reverser(source_kind: str, fn: Reverser) -> None:
    with _lock:
        REVERSERS[source_kind] = fn


def _load_hooks() -> None:
    global _loaded
    if _loaded:
        return
    for info in pkgutil.iter_modules(entremise.__path__):
        name = f"entremise.{info.name}.moderation_hooks"
        if info.ispkg and importlib.util.find_spec(name) is not None:
            importlib.import_module(name)
    _loaded = True


def kind(name: str) -> ContentKind | None:
    if name not in KINDS:
        _load_hooks()
    return KINDS.get(name)


def kinds() -> list[str]:
    _load_hooks()
    return sorted(KINDS)


def locate(db: Session, name: str, platform_id: str, content_id: str) -> ContentRef | None:
    k = kind(name)
    if k is None:
        return None
    found = k.locate(db, platform_id, content_id)
    if found is None or isinstance(found, ContentRef):
        return found
    author = found.get("author_id")
    if not isinstance(author, str):
        return None
    return ContentRef(author, str(found.get("excerpt") or "")[:500], found.get("url"))
