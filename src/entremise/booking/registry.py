"""Where process definitions, guards and actions are registered, by name.

Definitions are kept by (name, version): an instance stays on the version it started with, while new
instances start on the latest one. Guards are pure functions; actions run inside the service's
transaction with an `ActionContext` (see `booking.service`). Register guards and actions before
the definitions that name them; `register` refuses a definition naming an unknown one.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from entremise.booking.process import GuardFn, ProcessDefinition, ProcessDefinitionError
from entremise.kernel.errors import NotFound

if TYPE_CHECKING:
    from entremise.booking.service import ActionContext

ActionFn = Callable[["ActionContext"], None]
F = TypeVar("F", bound=Callable[..., object])


class ProcessRegistry:
    def __init__(self) -> None:
        self._definitions: dict[tuple[str, int], ProcessDefinition] = {}
        self._guards: dict[str, GuardFn] = {}
        self._actions: dict[str, ActionFn] = {}
        self._lock = threading.Lock()

    # guards and actions
    def add_guard(self, name: str, fn: GuardFn) -> None:
        with self._lock:
            if self._guards.get(name, fn) is not fn:
                raise ValueError(f"another guard is registered as {name!r}")
            self._guards[name] = fn

    def add_action(self, name: str, fn: ActionFn) -> None:
        with self._lock:
            if self._actions.get(name, fn) is not fn:
                raise ValueError(f"another action is registered as {name!r}")
            self._actions[name] = fn

    def guard(self, name: str) -> Callable[[F], F]:
        """Decorator: `@REGISTRY.guard("kidride.cancel_window")`."""

        def deco(fn: F) -> F:
            self.add_guard(name, fn)  # type: ignore[arg-type]
            return fn

        return deco

    def action(self, name: str) -> Callable[[F], F]:
        """Decorator: `@REGISTRY.action("kidride.hold_payment")`."""

        def deco(fn: F) -> F:
            self.add_action(name, fn)  # type: ignore[arg-type]
            return fn

        return deco

    @property
    def guards(self) -> dict[str, GuardFn]:
        return dict(self._guards)

    def action_fn(self, name: str) -> ActionFn:
        return self._actions[name]

    # definitions
    def register(self, definition: ProcessDefinition) -> ProcessDefinition:
        """Add a definition. Registering the same (name, version) again is allowed only if identical."""
        problems = [
            f"transition {t.name!r}: unknown guard {t.guard!r}"
            for t in definition.transitions
            if t.guard is not None and t.guard not in self._guards
        ] + [
            f"transition {t.name!r}: unknown action {a!r}"
            for t in definition.transitions
            for a in t.actions
            if a not in self._actions
        ]
        if problems:
            raise ProcessDefinitionError(definition.name, problems)
        key = (definition.name, definition.version)
        with self._lock:
            existing = self._definitions.get(key)
            if existing is not None and existing != definition:
                raise ProcessDefinitionError(
                    definition.name,
                    [f"version {definition.version} is already registered with a different content"],
                )
            self._definitions[key] = definition
        return definition

    def get(self, name: str, version: int | None = None) -> ProcessDefinition:
        """A definition by name and version (the latest when `version` is None); NotFound otherwise."""
        if version is None:
            versions = self.versions(name)
            if not versions:
                raise NotFound(f"no process named {name!r}")
            version = versions[-1]
        definition = self._definitions.get((name, version))
        if definition is None:
            raise NotFound(f"no process {name!r} version {version}")
        return definition

    def versions(self, name: str) -> list[int]:
        return sorted(v for (n, v) in self._definitions if n == name)

    def names(self) -> list[str]:
        return sorted({n for (n, _v) in self._definitions})


REGISTRY = ProcessRegistry()
"""The registry of this deployment: packs register their processes, guards and actions here."""
