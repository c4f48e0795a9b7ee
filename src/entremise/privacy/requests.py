"""Data-protection requests (COMMON-PRIVACY-1): access, rectification, erasure, restriction, objection
and portability, each answered within one month of receipt (GDPR art. 12(3)), extendable once by two
further months with a reason given within the first; a refusal gives its grounds; the user is told
of the outcome and of the right to complain to the CNIL.

Effects: a restriction or an objection stops its purposes at once (the answer keeps or ends it); an
erasure granted closes the account through `accounts.close_account`, which keeps what a retention
rule holds and says until when; a rectification granted applies the changes through
`accounts.update_profile`. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.notify.outbox import enqueue
from entremise.platforms.service import PlatformView
from entremise.privacy import consent, domain
from entremise.privacy.models import PrivacyRequest

RULES = [domain.RULE_REQUESTS]


@dataclass(frozen=True)
class RequestView:
    id: str
    user_id: str
    kind: str
    status: str
    details: str
    purposes: list[str]
    changes: dict[str, Any]
    received_at: datetime
    received_via: str
    due_on: date
    first_due_on: date
    extended_at: datetime | None
    extension_reason: str | None
    answered_at: datetime | None
    outcome: str | None
    answer: str | None
    grounds: list[dict[str, str]]
    effects: dict[str, Any]
    user_notified: bool
    overdue: bool
    rules: list[str] = field(default_factory=lambda: list(RULES))


def _grounds(codes: Sequence[str]) -> list[dict[str, str]]:
    return [
        {"code": c, "article": domain.GROUNDS[c].article, "label": domain.GROUNDS[c].label}
        for c in codes
        if c in domain.GROUNDS
    ]


def _today(platform: PlatformView, now: datetime) -> date:
    return domain.local_day(now, platform.settings.timezone)


def _view(row: PrivacyRequest, today: date) -> RequestView:
    return RequestView(
        id=row.id,
        user_id=row.user_id,
        kind=row.kind,
        status=row.status,
        details=row.details,
        purposes=list(row.purposes or []),
        changes=dict(row.changes or {}),
        received_at=row.received_at,
        received_via=row.received_via,
        due_on=row.due_on,
        first_due_on=row.first_due_on,
        extended_at=row.extended_at,
        extension_reason=row.extension_reason,
        answered_at=row.answered_at,
        outcome=row.outcome,
        answer=row.answer,
        grounds=_grounds(row.grounds or []),
        effects=dict(row.effects or {}),
        user_notified=row.user_notified,
        overdue=domain.is_overdue(row.status, row.due_on, today),
    )


def _notify(
    db: Session,
    platform: PlatformView,
    row: PrivacyRequest,
    template: str,
    payload: Mapping[str, Any],
    now: datetime,
    recipient: str | None = None,
    locale: str | None = None,
) -> bool:
    """Queue a message about the request to the user's e-mail; False when there is none."""
    if recipient is None:
        contact = accounts.contact_of(db, platform.id, row.user_id)
        recipient, locale = contact.email, contact.locale
    if not recipient:
        return False
    enqueue(
        db,
        platform_id=platform.id,
        channel="email",
        template=template,
        recipient=recipient,
        payload={"platform_name": platform.name, "kind": row.kind, "request_id": row.id, **payload},
        now=now,
        locale=locale or platform.settings.locale,
        user_id=row.user_id,
        dedupe_key=f"{template}:{row.id}",
    )
    return True


def _check_new(
    kind: str, purposes: Sequence[str], changes: Mapping[str, Any]
) -> tuple[list[str], dict[str, Any]]:
    errors: list[FieldError] = []
    if kind not in domain.KINDS:
        raise InvalidInput([FieldError("body.kind", f"one of {', '.join(domain.KINDS)}")], rules=RULES)
    if kind in domain.LIMIT_KINDS:
        chosen = list(dict.fromkeys(purposes)) or list(domain.PURPOSES)
        errors += [
            FieldError(f"body.purposes.{i}", f"one of {', '.join(domain.PURPOSES)}")
            for i, p in enumerate(chosen)
            if p not in domain.PURPOSES
        ]
    else:
        chosen = []
        if purposes:
            errors.append(FieldError("body.purposes", "only a restriction or an objection names purposes"))
    clean: dict[str, Any] = {}
    if kind == "rectification":
        if not changes:
            errors.append(FieldError("body.changes", "name the fields to rectify and their right values"))
        for name, value in changes.items():
            if name not in accounts.EDITABLE_FIELDS:
                errors.append(FieldError(f"body.changes.{name}", "not a field of the profile"))
            elif value is not None and not isinstance(value, str):
                errors.append(FieldError(f"body.changes.{name}", "a string, or null to remove it"))
            else:
                clean[name] = value
    elif changes:
        errors.append(FieldError("body.changes", "only a rectification carries changes"))
    if errors:
        raise InvalidInput(errors, rules=RULES)
    return chosen, clean


def file_request(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    kind: str,
    now: datetime,
    details: str = "",
    purposes: Sequence[str] = (),
    changes: Mapping[str, Any] | None = None,
    received_at: datetime | None = None,
    actor: Actor | None = None,
) -> RequestView:
    """COMMON-PRIVACY-1: record a request, its deadline (one month from receipt), acknowledge it by
    e-mail; a restriction or an objection takes effect at once. One open request per kind and user."""
    chosen, clean = _check_new(kind, purposes, changes or {})
    user = accounts.get_user(db, platform_id=platform.id, user_id=user_id)  # NotFound across platforms
    received = received_at or now
    if received > now:
        raise InvalidInput([FieldError("body.received_on", "cannot be in the future")], rules=RULES)
    if user.status != "active" and kind not in ("access", "portability"):
        raise Conflict("the account is closed: only access to what is still held can be asked", rules=RULES)
    existing = db.scalar(
        select(PrivacyRequest.id).where(
            PrivacyRequest.platform_id == platform.id,
            PrivacyRequest.user_id == user_id,
            PrivacyRequest.kind == kind,
            PrivacyRequest.status == "open",
        )
    )
    if existing is not None:
        raise Conflict(
            f"an {kind} request of this user is already open", rules=RULES, extra={"request_id": existing}
        )
    due = domain.deadline(received, platform.settings.timezone, platform.settings.default_region)
    row = PrivacyRequest(
        id=new_id(),
        platform_id=platform.id,
        user_id=user_id,
        kind=kind,
        status="open",
        details=details.strip(),
        purposes=chosen,
        changes=clean,
        received_at=received,
        received_via="self_service" if actor is None else "staff",
        due_on=due.outcome,
        first_due_on=due.outcome,
        grounds=[],
        effects={},
        user_notified=False,
    )
    db.add(row)
    db.flush()
    actor = actor or Actor("user", user_id)
    if kind in domain.LIMIT_KINDS:
        consent.add_limits(
            db,
            platform_id=platform.id,
            user_id=user_id,
            purposes=chosen,
            basis=kind,
            now=now,
            actor=actor,
            request_id=row.id,
        )
        row.effects = {"limits_started": chosen}
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="privacy_request.received",
        obj=("privacy_request", row.id),
        at=now,
        rules=due.rules,
        reason=due.reason,
        data={"user_id": user_id, "kind": kind, "due_on": due.outcome.isoformat(), "via": row.received_via},
    )
    row.user_notified = _notify(
        db,
        platform,
        row,
        "privacy.request_received",
        {"received_at": received.isoformat(), "due_on": due.outcome.isoformat()},
        now,
    )
    return _view(row, _today(platform, now))


def _row(db: Session, platform_id: str, request_id: str, *, lock: bool = False) -> PrivacyRequest:
    q = select(PrivacyRequest).where(
        PrivacyRequest.platform_id == platform_id, PrivacyRequest.id == request_id
    )
    if lock:
        q = q.with_for_update()
    row = db.scalar(q)
    if row is None:
        raise NotFound("no such request")
    return row


def get_request(
    db: Session, *, platform: PlatformView, request_id: str, now: datetime, user_id: str | None = None
) -> RequestView:
    """A request; with `user_id`, only if it is that user's (404 otherwise)."""
    row = _row(db, platform.id, request_id)
    if user_id is not None and row.user_id != user_id:
        raise NotFound("no such request")
    return _view(row, _today(platform, now))


def list_requests(
    db: Session,
    *,
    platform: PlatformView,
    now: datetime,
    user_id: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    overdue: bool = False,
    after: tuple[str, str] | None = None,
    limit: int = 50,
) -> list[RequestView]:
    """Requests by due date then id (the staff queue), of one user when `user_id` is given. `after` is
    the (due date, id) of the last one seen. `overdue`: open requests past their due day."""
    today = _today(platform, now)
    q = select(PrivacyRequest).where(PrivacyRequest.platform_id == platform.id)
    if user_id is not None:
        q = q.where(PrivacyRequest.user_id == user_id)
    if overdue:
        q = q.where(PrivacyRequest.status == "open", PrivacyRequest.due_on < today)
    elif status is not None:
        q = q.where(PrivacyRequest.status == status)
    if kind is not None:
        q = q.where(PrivacyRequest.kind == kind)
    if after is not None:
        due, last_id = date.fromisoformat(after[0]), after[1]
        q = q.where(
            (PrivacyRequest.due_on > due) | ((PrivacyRequest.due_on == due) & (PrivacyRequest.id > last_id))
        )
    rows = db.scalars(q.order_by(PrivacyRequest.due_on, PrivacyRequest.id).limit(limit))
    return [_view(r, today) for r in rows]


def extend(
    db: Session,
    *,
    platform: PlatformView,
    request_id: str,
    months: int,
    reason: str,
    staff_id: str,
    now: datetime,
) -> RequestView:
    """GDPR art. 12(3): push the deadline back by up to two months, once, within the first month, and
    tell the user why."""
    row = _row(db, platform.id, request_id, lock=True)
    today = _today(platform, now)
    verdict = domain.extension_verdict(
        status=row.status,
        extended=row.extended_at is not None,
        today=today,
        due_on=row.first_due_on,
        months=months,
        reason=reason,
    )
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules)
    due = domain.deadline(
        row.received_at, platform.settings.timezone, platform.settings.default_region, months=1 + months
    )
    row.due_on, row.extended_at, row.extension_reason = due.outcome, now, reason.strip()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("staff", staff_id),
        action="privacy_request.extended",
        obj=("privacy_request", row.id),
        at=now,
        rules=verdict.rules,
        reason=row.extension_reason,
        data={"due_on": due.outcome.isoformat(), "months": months},
    )
    _notify(
        db,
        platform,
        row,
        "privacy.request_extended",
        {"reason": row.extension_reason, "due_on": due.outcome.isoformat()},
        now,
    )
    return _view(row, today)


def _rectify(
    db: Session,
    platform: PlatformView,
    row: PrivacyRequest,
    changes: Mapping[str, Any],
    staff_id: str,
    now: datetime,
) -> dict[str, Any]:
    try:
        user = accounts.update_profile(
            db,
            platform=platform,
            user_id=row.user_id,
            changes=changes,
            actor=Actor("staff", staff_id),
            now=now,
            rules=(domain.RULE_REQUESTS,),
        )
    except InvalidInput as exc:
        exc.errors = [FieldError(e.field.replace("body.", "body.changes.", 1), e.reason) for e in exc.errors]
        exc.detail = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
        raise
    return {"fields_changed": sorted(changes), "user_status": user.status}


def answer(
    db: Session,
    *,
    platform: PlatformView,
    request_id: str,
    outcome: str,
    message: str,
    grounds: Sequence[str],
    staff_id: str,
    now: datetime,
    changes: Mapping[str, Any] | None = None,
) -> RequestView:
    """COMMON-PRIVACY-1: staff answer a request. A refusal, whole or partial, gives its grounds; the
    answer's effect is applied in the same transaction; the user is told, with the right to complain
    to the CNIL. An answered request cannot be answered again (409, nothing changed)."""
    row = _row(db, platform.id, request_id, lock=True)
    problems, rules = domain.answer_problems(
        kind=row.kind,
        status=row.status,
        outcome=outcome,
        grounds=grounds,
        message=message,
        purposes=row.purposes,
    )
    if any(p.field == "status" for p in problems):
        raise Conflict("the request is already answered", rules=rules)
    if changes is not None and row.kind != "rectification":
        problems.append(domain.AnswerProblem("body.changes", "only a rectification applies changes"))
    if row.kind == "rectification" and outcome == "partially_granted" and not changes:
        problems.append(
            domain.AnswerProblem("body.changes", "name the changes applied (the others are refused)")
        )
    if problems:
        raise InvalidInput([FieldError(p.field, p.reason) for p in problems], rules=rules)
    staff = Actor("staff", staff_id)
    contact = accounts.contact_of(db, platform.id, row.user_id)
    effects: dict[str, Any] = dict(row.effects or {})
    kept: list[dict[str, Any]] = []
    granted = outcome in ("granted", "partially_granted")
    if row.kind == "rectification" and granted:
        effects.update(_rectify(db, platform, row, changes if changes else row.changes, staff_id, now))
    elif row.kind == "erasure" and granted:
        user = accounts.get_user(db, platform_id=platform.id, user_id=row.user_id)
        if user.status == "active":
            user = accounts.close_account(
                db,
                platform=platform,
                user_id=row.user_id,
                now=now,
                actor=staff,
                reason="erasure_request",
                rules=(domain.RULE_REQUESTS, "COMMON-ACCOUNT-4"),
                data={"request_id": row.id},
            )
        kept = [{"field": h["field"], "rule": h["rule"], "until": h["until"]} for h in user.retention_holds]
        effects.update({"account_closed": True, "kept": kept})
    elif row.kind in domain.LIMIT_KINDS:
        if granted:
            effects["limits_kept"] = list(row.purposes)
        else:
            consent.end_limits(
                db,
                platform_id=platform.id,
                user_id=row.user_id,
                purposes=row.purposes,
                basis=row.kind,
                now=now,
                actor=staff,
                reason=message,
            )
            effects["limits_ended"] = list(row.purposes)
    row.status, row.outcome, row.answer = "answered", outcome, message.strip()
    row.grounds, row.answered_at, row.answered_by = list(grounds), now, staff_id
    row.effects = effects
    record(
        db,
        platform_id=platform.id,
        actor=staff,
        action="privacy_request.answered",
        obj=("privacy_request", row.id),
        at=now,
        rules=rules,
        reason=row.answer,
        data={"user_id": row.user_id, "kind": row.kind, "outcome": outcome, "grounds": list(grounds)},
    )
    row.user_notified = _notify(
        db,
        platform,
        row,
        "privacy.request_answered",
        {
            "outcome": outcome,
            "message": row.answer,
            "grounds": [f"{g['label']} ({g['article']})" for g in _grounds(grounds)],
            "kept": kept,
        },
        now,
        recipient=contact.email,
        locale=contact.locale,
    )
    db.flush()
    return _view(row, _today(platform, now))
