"""Sanction use cases (docs/sanctions.md). Every function runs in the caller's transaction.

Other modules call `impose` (the fraud module, after a human decision), `lift`, `active_sanctions`,
`is_blocked`, `is_restricted` and `linked_to_banned`; payments plugs an instrument matcher with
`register_instrument_matcher`. Importing this module registers the accounts hooks (login and
state-changing calls refused while a suspension or termination stands; re-registration refused).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.accounts.service import RequestMeta, UserView
from entremise.audit.service import Actor, record
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import AppError, Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.moderation import domain as moderation_domain
from entremise.moderation import registry as moderation_registry
from entremise.moderation import service as moderation
from entremise.notify.outbox import enqueue
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.sanctions import domain
from entremise.sanctions.models import RegistrationBan, Sanction

WALLET_TYPES = (AccountType.CLIENT_CREDIT, AccountType.CLIENT_BONUS, AccountType.PROVIDER_WALLET)


class AccountSuspended(Forbidden):
    type_ = "https://entremise.dev/problems/account-suspended"
    title = "Account suspended"


class RegistrationRefused(Forbidden):
    type_ = "https://entremise.dev/problems/registration-refused"
    title = "Registration refused"


@dataclass(frozen=True)
class SanctionView:
    id: str
    user_id: str
    kind: str
    status: str
    rules: list[str]
    facts: str
    ground: str
    decided_by: str | None
    decided_at: datetime
    cure_until: datetime | None
    sworn_at: datetime | None
    effects: dict[str, Any]
    statement_id: str | None
    lifted_at: datetime | None
    lifted_by: str | None
    lift_reason: str | None


def _view(s: Sanction) -> SanctionView:
    return SanctionView(
        s.id,
        s.user_id,
        s.kind,
        s.status,
        list(s.rules),
        s.facts,
        s.ground,
        s.decided_by,
        s.decided_at,
        s.cure_until,
        s.sworn_at,
        dict(s.effects or {}),
        s.statement_id,
        s.lifted_at,
        s.lifted_by,
        s.lift_reason,
    )


def _digest(platform_id: str, kind: str, value: str) -> str:
    return hashlib.sha256(f"{platform_id}:{kind}:{value}".encode()).hexdigest()


def _device_hash(platform_id: str, device_id: str) -> str:
    # the same digest accounts keeps for a device (accounts.service._device_hash)
    return hashlib.sha256(f"{platform_id}:{device_id[:200]}".encode()).hexdigest()


def _identifiers(db: Session, platform_id: str, user: UserView) -> list[tuple[str, str]]:
    keys: list[tuple[str, str]] = []
    if user.email:
        keys.append(("email", _digest(platform_id, "email", user.email.lower())))
    if user.phone:
        keys.append(("phone", _digest(platform_id, "phone", user.phone)))
    for d in accounts.export_data(db, platform_id=platform_id, user_id=user.id)["devices"]:
        keys.append(("device", _digest(platform_id, "device", str(d["device_hash"]))))
    return keys


# --- imposing and lifting ------------------------------------------------------------------------


def impose(
    db: Session,
    *,
    platform_id: str,
    user_id: str,
    kind: str,
    rules: list[str] | tuple[str, ...],
    facts: str,
    decided_by: str | None,
    now: datetime,
    ground: str | None = None,
    ground_kind: str = "terms",
    automated_detection: bool = False,
    base_url: str = "",
) -> SanctionView:
    """Impose one step of the ladder on a user, as a decision citing `rules`, with a statement of
    reasons e-mailed to the user (LAW-DSA-17) carrying a way to answer and contest (CARPOOL-SUSPEND-1,
    LAW-DSA-20). `decided_by` is the staff member who decided (no sanction without a person)."""
    platform = platforms.get(db, platform_id)
    errors = moderation_domain.check_rules(list(rules))
    if kind not in domain.KINDS:
        errors.append(FieldError("body.kind", f"one of {', '.join(domain.KINDS)}"))
    if not facts.strip() or len(facts) > 5000:
        errors.append(FieldError("body.facts", "the facts the sanction rests on (1 to 5000 characters)"))
    if ground is not None and len(ground) > 2000:
        errors.append(FieldError("body.ground", "at most 2000 characters"))
    if ground_kind not in moderation_domain.GROUNDS:
        errors.append(FieldError("body.ground_kind", "law or terms"))
    if decided_by is None:
        errors.append(FieldError("body.decided_by", "a person decides every sanction"))
    if errors:
        raise InvalidInput(errors, rules=list(domain.STATEMENT_RULES))
    user = accounts.get_user(db, platform_id=platform_id, user_id=user_id)
    if user.role == "staff":
        raise InvalidInput([FieldError("body.user_id", "staff accounts are not sanctioned here")])
    if user.status != "active":
        raise Conflict("the account is closed")
    standing = db.scalar(
        select(Sanction.id).where(
            Sanction.platform_id == platform_id,
            Sanction.user_id == user_id,
            Sanction.kind == kind,
            Sanction.status == "active",
        )
    )
    if standing is not None:
        raise Conflict(f"a {kind} already stands against this account", extra={"sanction_id": standing})
    eff = domain.effects(kind)
    s = Sanction(
        id=new_id(),
        platform_id=platform_id,
        user_id=user_id,
        kind=kind,
        status="active",
        rules=list(dict.fromkeys(rules)),
        facts=facts.strip(),
        ground=(ground or "").strip() or f"the terms of service: {', '.join(rules)}",
        decided_by=decided_by,
        decided_at=now,
        effects={},
    )
    effects: dict[str, Any] = {}
    if eff.cure_period:
        cure = domain.cure_deadline(
            now, platform.settings.sanctions.cure_days, tuple(platform.settings.sanctions.cure_rules)
        )
        s.cure_until = cure.outcome
        s.rules = list(dict.fromkeys([*s.rules, *cure.rules]))
    db.add(s)
    db.flush()
    actor = Actor("staff", decided_by)
    if eff.hide_profile and not moderation.is_hidden(
        db, platform_id=platform_id, kind="profile", content_id=user_id
    ):
        moderation.set_hidden(
            db, platform_id=platform_id, kind="profile", content_id=user_id, state="restricted", now=now
        )
        effects["profile_hidden"] = True
    if eff.freeze_wallets:
        frozen = []
        for acc in ledger.accounts_of(db, platform_id=platform_id, owner_id=user_id):
            if acc.type in WALLET_TYPES and not acc.frozen:
                ledger.freeze(
                    db,
                    platform_id=platform_id,
                    account_id=acc.id,
                    rules=s.rules,
                    reason=s.facts[:2000],
                    now=now,
                    actor=actor,
                )
                frozen.append(acc.id)
        effects["frozen_accounts"] = frozen
    if eff.ban_identifiers:
        keys = _identifiers(db, platform_id, user)
        for key_kind, digest in keys:
            db.add(
                RegistrationBan(
                    id=new_id(), platform_id=platform_id, sanction_id=s.id, key_kind=key_kind, digest=digest
                )
            )
        effects["banned_identifiers"] = sorted({k for k, _ in keys})
    s.effects = effects
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action=f"sanction.imposed.{kind}",
        obj=("sanction", s.id),
        at=now,
        rules=s.rules,
        reason=s.facts,
        data={
            "user_id": user_id,
            "effects": effects,
            "cure_until": s.cure_until.isoformat() if s.cure_until else None,
        },
    )
    st = moderation.issue_statement(
        db,
        platform=platform,
        user_id=user_id,
        source_kind="sanction",
        source_id=s.id,
        action=domain.LABELS[kind],
        facts=s.facts,
        automated_detection=automated_detection,
        ground_kind=ground_kind,
        ground=s.ground,
        rules=[*s.rules, *domain.STATEMENT_RULES],
        decided_by=decided_by,
        now=now,
        base_url=base_url,
        extra={"sanction_kind": kind, "cure_until": s.cure_until.isoformat() if s.cure_until else None},
    )
    s.statement_id = st.id
    db.flush()
    return _view(s)


def _sanction(db: Session, platform_id: str, sanction_id: str, *, lock: bool = False) -> Sanction:
    q = select(Sanction).where(Sanction.platform_id == platform_id, Sanction.id == sanction_id)
    if lock:
        q = q.with_for_update()
    s = db.scalar(q)
    if s is None:
        raise NotFound("no such sanction")
    return s


def lift(
    db: Session,
    *,
    platform_id: str,
    sanction_id: str,
    lifted_by: str,
    reason: str,
    now: datetime,
    rules: list[str] | tuple[str, ...] = (),
) -> SanctionView:
    """Lift a sanction (CARPOOL-SUSPEND-1: the platform lifts or keeps it), undoing its effects, with
    the reason recorded and sent to the user."""
    if not reason.strip() or len(reason) > 5000:
        raise InvalidInput([FieldError("body.reason", "why the sanction is lifted (1 to 5000 characters)")])
    s = _sanction(db, platform_id, sanction_id, lock=True)
    if s.status != "active":
        raise Conflict(f"this sanction is already {s.status}")
    actor = Actor("staff", lifted_by)
    effects = dict(s.effects or {})
    all_rules = list(dict.fromkeys([*s.rules, *rules]))
    for account_id in effects.get("frozen_accounts", []):
        if ledger.get_account(db, platform_id=platform_id, account_id=account_id).frozen:
            ledger.unfreeze(
                db,
                platform_id=platform_id,
                account_id=account_id,
                rules=all_rules,
                reason=reason[:2000],
                now=now,
                actor=actor,
            )
    if effects.get("profile_hidden"):
        others = db.scalar(
            select(Sanction.id).where(
                Sanction.platform_id == platform_id,
                Sanction.user_id == s.user_id,
                Sanction.status == "active",
                Sanction.id != s.id,
                Sanction.kind.in_(("restriction", "suspension", "termination")),
            )
        )
        if others is None:
            moderation.set_hidden(
                db, platform_id=platform_id, kind="profile", content_id=s.user_id, state=None, now=now
            )
    s.status = "lifted"
    s.lifted_at = now
    s.lifted_by = lifted_by
    s.lift_reason = reason.strip()
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action=f"sanction.lifted.{s.kind}",
        obj=("sanction", s.id),
        at=now,
        rules=all_rules,
        reason=s.lift_reason,
        data={"user_id": s.user_id},
    )
    platform = platforms.get(db, platform_id)
    contact = accounts.contact_of(db, platform_id, s.user_id)
    if contact.email:
        enqueue(
            db,
            platform_id=platform_id,
            channel="email",
            template="sanctions.lifted",
            recipient=contact.email,
            payload={
                "platform_name": platform.name,
                "label": domain.LABELS[s.kind],
                "reason": s.lift_reason,
                "decided_at": s.decided_at.isoformat(),
            },
            now=now,
            locale=contact.locale,
            user_id=s.user_id,
        )
    return _view(s)


def _reverse(
    db: Session, platform_id: str, sanction_id: str, staff_id: str, reasons: str, now: datetime
) -> None:
    """LAW-DSA-20: a complaint found the sanction unfounded: it is lifted at once."""
    lift(
        db,
        platform_id=platform_id,
        sanction_id=sanction_id,
        lifted_by=staff_id,
        reason=reasons,
        now=now,
        rules=["LAW-DSA-20"],
    )


moderation_registry.register_decision_reverser("sanction", _reverse)


def sworn_statement(
    db: Session, *, platform_id: str, sanction_id: str, user_id: str, text: str, now: datetime
) -> SanctionView:
    """CONSULT-SANCTION-1: within the cure period the user remedies and swears no breach will recur."""
    if not text.strip() or len(text) > 5000:
        raise InvalidInput(
            [FieldError("body.text", "the sworn statement (1 to 5000 characters)")],
            rules=["CONSULT-SANCTION-1"],
        )
    s = _sanction(db, platform_id, sanction_id, lock=True)
    if s.user_id != user_id:
        raise NotFound("no such sanction")
    verdict = domain.sworn_verdict(
        s.cure_until if s.kind == "formal_notice" and s.status == "active" else None, now
    )
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules)
    if s.sworn_at is not None:
        raise Conflict("a sworn statement was already given", rules=["CONSULT-SANCTION-1"])
    s.sworn_statement = text.strip()
    s.sworn_at = now
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="sanction.sworn_statement",
        obj=("sanction", s.id),
        at=now,
        rules=list(verdict.rules),
    )
    return _view(s)


# --- reading -------------------------------------------------------------------------------------


def get(db: Session, *, platform_id: str, sanction_id: str, user_id: str | None = None) -> SanctionView:
    s = _sanction(db, platform_id, sanction_id)
    if user_id is not None and s.user_id != user_id:
        raise NotFound("no such sanction")
    return _view(s)


def list_sanctions(
    db: Session,
    *,
    platform_id: str,
    user_id: str | None = None,
    status: str | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> list[SanctionView]:
    q = select(Sanction).where(Sanction.platform_id == platform_id)
    if user_id:
        q = q.where(Sanction.user_id == user_id)
    if status:
        q = q.where(Sanction.status == status)
    if after_id:
        q = q.where(Sanction.id > after_id)
    return [_view(s) for s in db.scalars(q.order_by(Sanction.id).limit(limit))]


def active_sanctions(db: Session, *, platform_id: str, user_id: str) -> list[SanctionView]:
    return list_sanctions(db, platform_id=platform_id, user_id=user_id, status="active", limit=1000)


def is_blocked(db: Session, *, platform_id: str, user_id: str) -> SanctionView | None:
    """The standing suspension or termination of a user, if any."""
    s = db.scalar(
        select(Sanction)
        .where(
            Sanction.platform_id == platform_id,
            Sanction.user_id == user_id,
            Sanction.status == "active",
            Sanction.kind.in_(domain.BLOCKING),
        )
        .order_by(Sanction.decided_at)
    )
    return _view(s) if s else None


def is_restricted(db: Session, *, platform_id: str, user_id: str) -> bool:
    """Whether a restriction (or anything graver) stands: modules limit what the user may publish."""
    return any(
        s.kind in ("restriction", *domain.BLOCKING)
        for s in active_sanctions(db, platform_id=platform_id, user_id=user_id)
    )


# --- accounts hooks ------------------------------------------------------------------------------


def _access_guard(db: Session, platform_id: str, user_id: str, now: datetime) -> AppError | None:
    s = is_blocked(db, platform_id=platform_id, user_id=user_id)
    if s is None:
        return None
    what = "terminated" if s.kind == "termination" else "suspended"
    return AccountSuspended(
        f"this account is {what}; the e-mail you received explains why and how to answer",
        rules=list(dict.fromkeys([*s.rules, "COMMON-MODERATION-1"])),
        extra={"sanction_id": s.id, "kind": s.kind},
    )


def _banned(db: Session, platform_id: str, digests: list[str]) -> Sanction | None:
    if not digests:
        return None
    return db.scalar(
        select(Sanction)
        .join(RegistrationBan, RegistrationBan.sanction_id == Sanction.id)
        .where(
            RegistrationBan.platform_id == platform_id,
            RegistrationBan.digest.in_(digests),
            Sanction.status == "active",
        )
        .limit(1)
    )


def _registration_hook(
    db: Session,
    platform: PlatformView,
    user: UserView,
    extras: dict[str, Any],
    meta: RequestMeta,
    now: datetime,
) -> dict[str, Any] | None:
    """COMMON-ACCOUNT-1, CARPOOL-SUSPEND-1 (004 §16.1.1): a person whose registration was barred does
    not come back with the same e-mail, phone or device."""
    digests = []
    if user.email:
        digests.append(_digest(platform.id, "email", user.email.lower()))
    if user.phone:
        digests.append(_digest(platform.id, "phone", user.phone))
    if meta.device_id:
        digests.append(_digest(platform.id, "device", _device_hash(platform.id, meta.device_id)))
    s = _banned(db, platform.id, digests)
    if s is not None:
        record(
            db,
            platform_id=platform.id,
            actor=Actor.system(),
            action="sanction.registration_refused",
            obj=("sanction", s.id),
            at=now,
            rules=["COMMON-ACCOUNT-1", *s.rules],
        )
        raise RegistrationRefused(
            "registration refused on this platform", rules=["COMMON-ACCOUNT-1", *s.rules]
        )
    return None


InstrumentMatcher = Callable[[Session, str, str], list[str]]
INSTRUMENT_MATCHERS: list[InstrumentMatcher] = []


def register_instrument_matcher(fn: InstrumentMatcher) -> None:
    """`fn(db, platform_id, user_id)` -> the other users sharing a payment instrument with the user
    (payments plugs `users_with_instrument` here once it exists)."""
    if fn not in INSTRUMENT_MATCHERS:
        INSTRUMENT_MATCHERS.append(fn)


def linked_to_banned(db: Session, *, platform_id: str, user_id: str) -> Verdict:
    """COMMON-ACCOUNT-1: refuse a user whose payment instrument belongs to an account barred from
    registering (a standing registration ban or termination). Payments calls it on a new card."""
    for matcher in INSTRUMENT_MATCHERS:
        for other in matcher(db, platform_id, user_id):
            s = db.scalar(
                select(Sanction).where(
                    Sanction.platform_id == platform_id,
                    Sanction.user_id == other,
                    Sanction.status == "active",
                    Sanction.kind.in_(("registration_ban", "termination")),
                )
            )
            if s is not None:
                return Verdict.refuse(
                    "COMMON-ACCOUNT-1", *s.rules, reason="payment instrument of a barred account"
                )
    return Verdict.allow("COMMON-ACCOUNT-1")


def export_data(db: Session, *, platform_id: str, user_id: str) -> list[dict[str, Any]]:
    return [
        {
            "id": s.id,
            "kind": s.kind,
            "status": s.status,
            "rules": s.rules,
            "facts": s.facts,
            "ground": s.ground,
            "decided_at": s.decided_at.isoformat(),
            "cure_until": s.cure_until.isoformat() if s.cure_until else None,
            "lifted_at": s.lifted_at.isoformat() if s.lifted_at else None,
            "lift_reason": s.lift_reason,
        }
        for s in list_sanctions(db, platform_id=platform_id, user_id=user_id, limit=10_000)
    ]


accounts.register_access_guard(_access_guard)
accounts.register_registration_hook(_registration_hook)
