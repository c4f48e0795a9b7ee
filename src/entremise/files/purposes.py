"""Purposes a file can be uploaded for, registered by the modules that use files.

A purpose names who may upload for it (roles) and how to find its rule (allowed types, maximum
size) in a platform's settings, so each platform can set its own figures:

    register_purpose("order_brief", roles=("client",),
                     rule=lambda settings: FileRule(tuple(settings.orders.brief_file_types),
                                                    settings.orders.brief_file_max_bytes))

The files module imports none of the modules that register purposes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from entremise.files.domain import FileRule
from entremise.platforms.settings import PlatformSettings

RuleOf = Callable[[PlatformSettings], FileRule]


@dataclass(frozen=True)
class Purpose:
    name: str
    roles: tuple[str, ...]
    rule: RuleOf


_PURPOSES: dict[str, Purpose] = {}
_LOCK = threading.Lock()


def register_purpose(name: str, *, roles: tuple[str, ...], rule: RuleOf) -> Purpose:
    purpose = Purpose(name, roles, rule)
    with _LOCK:
        existing = _PURPOSES.get(name)
        if existing is not None and existing.roles != purpose.roles:
            raise ValueError(f"another purpose is registered as {name!r}")
        _PURPOSES[name] = purpose
    return purpose


def get_purpose(name: str) -> Purpose | None:
    return _PURPOSES.get(name)


def purpose_names() -> list[str]:
    return sorted(_PURPOSES)
