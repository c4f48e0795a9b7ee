"""What a pack is: one reference platform declared as data and pure functions.

A pack declares
- its own settings (`settings_model`): a pydantic model whose every field is a figure of a rule,
  built with `figure(default, "RULE-ID", ...)` so the rule IDs sit beside the value;
- the figures it sets in other modules' settings (`platform_defaults`, a partial `PlatformSettings`
  document) and the rule IDs behind each of them (`module_figures`, keyed by dotted path);
- the processes it runs (names in the booking registry), its policies (pure functions returning
  `Decision`/`Verdict` with rule IDs), its claims presets, its terms texts per audience and locale,
  its notification templates (fr and en, in `notify/templates`) and its demo data.

Nothing here reads the database or the clock: `packs.service` applies a pack to a platform.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field
from pydantic.fields import FieldInfo

LOCALES = ("fr", "en")


def figure(default: Any, *rules: str, description: str = "", **constraints: Any) -> Any:
    """A setting that is the figure of the given rules (stored in the field's JSON schema)."""
    if not rules:
        raise ValueError("a figure names at least one rule ID")
    extra: dict[str, Any] = {"rules": list(rules)}
    if callable(default) and not isinstance(default, type):
        return Field(default_factory=default, description=description, json_schema_extra=extra, **constraints)
    return Field(default=default, description=description, json_schema_extra=extra, **constraints)


def rules_of(info: FieldInfo) -> tuple[str, ...]:
    extra = info.json_schema_extra
    if isinstance(extra, dict):
        rules = extra.get("rules")
        if isinstance(rules, list):
            return tuple(str(r) for r in rules)
    return ()


@dataclass(frozen=True)
class FigureSpec:
    """One figure of a pack: where it lives in the platform's settings and which rules it serves."""

    path: str  # dotted path in the platform's settings, e.g. `metering.connection_fee`
    rules: tuple[str, ...]
    description: str = ""


@dataclass(frozen=True)
class Pack:
    name: str
    label: str
    description: str
    settings_model: type[BaseModel]
    platform_defaults: Callable[[], dict[str, Any]]
    module_figures: Mapping[str, tuple[str, ...]]
    processes: tuple[str, ...]
    policies: Mapping[str, Callable[..., Any]]
    claims_presets: tuple[str, ...]
    templates: tuple[str, ...]  # notification template names (fr and en each)
    terms_dir: Path  # `<terms_dir>/<locale>/<audience>.md`
    terms_version: str
    rules: tuple[str, ...]  # every rule ID the pack makes executable
    demo: Callable[..., Any] | None = None
    hooks: tuple[Callable[[], None], ...] = field(default=())
    # run once in the transaction that creates a platform with the pack (db, platform, now)
    on_create: Callable[..., None] | None = None

    def figures(self) -> list[FigureSpec]:
        """Every figure of the pack, with the rules it implements: its own settings first."""
        out = [
            FigureSpec(f"pack_settings.{name}", rules_of(info), info.description or "")
            for name, info in self.settings_model.model_fields.items()
        ]
        out += [FigureSpec(path, tuple(rules)) for path, rules in self.module_figures.items()]
        return out

    def terms_text(self, audience: str, locale: str) -> str | None:
        path = self.terms_dir / locale / f"{audience}.md"
        return path.read_text(encoding="utf-8") if path.is_file() else None

    def audiences(self) -> list[str]:
        base = self.terms_dir / "fr"
        return sorted(p.stem for p in base.glob("*.md")) if base.is_dir() else []


def add_months(moment: Any, months: int) -> Any:
    """The same day `months` later (the last day of a shorter month), keeping the time of day."""
    import calendar

    index = moment.month - 1 + months
    year, month = moment.year + index // 12, index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)
