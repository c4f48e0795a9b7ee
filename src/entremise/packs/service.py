"""Applying a pack to a platform, and reading or overriding a platform's figures.

- `create_platform`: a new platform running a pack: the pack's figures (overridden by the caller's
  settings), its terms published for each audience, its claims presets in the claims settings.
- `effective_settings`: every figure of the platform's pack with its value and rule IDs.
- `override`: staff change figures by dotted path; the whole settings document is validated again
  and each refusal names the setting (`body.settings.<path>`); nothing changes on a refusal.
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import FieldError, InvalidInput, NotFound
from entremise.packs import registry
from entremise.packs.base import Pack
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.platforms.settings import PlatformSettings
from entremise.terms import service as terms

_MISSING = object()


def get_pack(name: str) -> Pack:
    try:
        return registry.get(name)
    except KeyError:
        raise NotFound(f"no pack {name!r} (known: {', '.join(registry.NAMES)})") from None


def merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    """`over` laid on `base`, dictionaries merged key by key (lists and values replaced)."""
    out = copy.deepcopy(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def pack_settings_document(pack: Pack, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """The platform settings document of a new platform running `pack`."""
    doc = merge(pack.platform_defaults(), overrides or {})
    doc["pack"] = pack.name
    doc.setdefault("pack_settings", {})
    return doc


def create_platform(
    db: Session,
    *,
    slug: str,
    name: str,
    pack: str,
    now: datetime,
    base_url: str,
    settings: dict[str, Any] | None = None,
) -> PlatformView:
    """Create a platform running `pack`, its terms published and in force now."""
    the_pack = get_pack(pack)
    if settings and settings.get("pack") not in (None, pack):
        raise InvalidInput([FieldError("settings.pack", f"this platform runs the pack {pack!r}")])
    view = platforms.create_platform(
        db, slug=slug, name=name, now=now, settings=pack_settings_document(the_pack, settings)
    )
    locale = "en" if view.settings.locale.startswith("en") else "fr"
    for audience in the_pack.audiences():
        text = the_pack.terms_text(audience, locale) or the_pack.terms_text(audience, "fr")
        assert text is not None
        terms.publish(
            db,
            platform=view,
            audience=audience,
            version=the_pack.terms_version,
            text=text,
            effective_at=now,
            actor=Actor.system(),
            base_url=base_url,
            now=now,
        )
    if the_pack.on_create is not None:
        the_pack.on_create(db, view, now)
    return view


@dataclass(frozen=True)
class EffectiveFigure:
    path: str
    value: Any
    default: Any
    rules: tuple[str, ...]
    description: str

    @property
    def overridden(self) -> bool:
        return bool(self.value != self.default)


def _at(doc: Any, path: str) -> Any:
    node = doc
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def pack_of(platform: PlatformView) -> Pack | None:
    return registry.get(platform.settings.pack) if platform.settings.pack else None


def effective_settings(platform: PlatformView) -> tuple[Pack | None, list[EffectiveFigure]]:
    """Every figure of the platform's pack: its value here, the pack's default, its rule IDs."""
    pack = pack_of(platform)
    if pack is None:
        return None, []
    current = platform.settings.model_dump(mode="json")
    defaults = PlatformSettings.model_validate(pack_settings_document(pack)).model_dump(mode="json")
    out = []
    for spec in pack.figures():
        value = _at(current, spec.path)
        default = _at(defaults, spec.path)
        out.append(
            EffectiveFigure(
                spec.path,
                None if value is _MISSING else value,
                None if default is _MISSING else default,
                spec.rules,
                spec.description,
            )
        )
    return pack, out


def _set(doc: dict[str, Any], path: str) -> tuple[dict[str, Any], str] | None:
    parts = path.split(".")
    node: Any = doc
    for part in parts[:-1]:
        if not isinstance(node, dict) or not isinstance(node.get(part), dict):
            return None
        node = node[part]
    return node, parts[-1]


def _errors(exc: ValidationError, prefix: str) -> list[FieldError]:
    return [
        FieldError(".".join([prefix, *(str(p) for p in e["loc"])]), e["msg"].removeprefix("Value error, "))
        for e in exc.errors()
    ]


def override(
    db: Session, *, platform: PlatformView, changes: dict[str, Any], actor: Actor, now: datetime
) -> tuple[Pack | None, list[EffectiveFigure]]:
    """Set figures by dotted path (`metering.connection_fee`, `scheduling.cancel_free_hours`).

    Every problem is reported at once, each naming its setting; nothing changes on a refusal."""
    if not changes:
        raise InvalidInput([FieldError("body.settings", "name at least one setting to change")])
    platform = platforms.get(db, platform.id, lock=True)  # two staff changes never lose one another
    doc = platform.settings.model_dump(mode="json")
    errors: list[FieldError] = []
    for path in sorted(changes):
        where = f"body.settings.{path}"
        if not all(_SEGMENT.match(part) for part in path.split(".")):
            errors.append(FieldError("body.settings", f"not a setting path: {path[:80]!r}"))
            continue
        if _has_nul(changes[path]):
            errors.append(FieldError(where, "must not contain NUL characters"))
            continue
        if path == "pack" or path.startswith("pack."):
            errors.append(FieldError(where, "the pack of a platform is chosen at its creation"))
            continue
        slot = _set(doc, path)
        if slot is None or (slot[1] not in slot[0] and not _is_open_mapping(path)):
            errors.append(FieldError(where, "unknown setting"))
            continue
        slot[0][slot[1]] = changes[path]
    if errors:
        raise InvalidInput(errors)
    pack = pack_of(platform)
    if pack is not None:
        try:
            pack.settings_model.model_validate(doc.get("pack_settings", {}))
        except ValidationError as exc:
            raise InvalidInput(_errors(exc, "body.settings.pack_settings")) from exc
    try:
        parsed = PlatformSettings.model_validate(doc)
    except ValidationError as exc:
        raise InvalidInput(_errors(exc, "body.settings")) from exc
    rules = sorted(
        {r for spec in (pack.figures() if pack else []) if spec.path in changes for r in spec.rules}
    )
    view = platforms.update_settings(
        db,
        platform_id=platform.id,
        settings=parsed,
        actor=actor,
        now=now,
        rules=rules,
        data={"changed": sorted(changes)},
    )
    return effective_settings(view)


_SEGMENT = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_has_nul(v) for v in value)
    return False


# mappings whose keys are chosen by the operator (a provider's id, a kind of claim)
_OPEN_MAPPINGS = ("orders.commission_percent_by_provider", "claims.kinds", "retention_days")


def _is_open_mapping(path: str) -> bool:
    parent = path.rsplit(".", 1)[0]
    return parent in _OPEN_MAPPINGS


def recording_verdict(settings: PlatformSettings, *, client_objected: bool = False) -> Verdict:
    """Whether a conversation's recording may be kept on this platform.

    consult: kept as evidence unless turned off or the client objected (CONSULT-RECORD-1);
    expert: never (EXPERT-RECORD-1); a platform without a pack keeps what its provider sends."""
    if settings.pack == "consult":
        from entremise.packs.consult import policies as consult
        from entremise.packs.consult.settings import ConsultSettings

        return consult.may_record(
            ConsultSettings.model_validate(settings.pack_settings), client_objected=client_objected
        )
    if settings.pack == "expert":
        from entremise.packs.expert import policies as expert
        from entremise.packs.expert.settings import ExpertSettings

        return expert.may_record(ExpertSettings.model_validate(settings.pack_settings))
    return Verdict.allow(reason="no pack: the platform keeps what its provider sends")
