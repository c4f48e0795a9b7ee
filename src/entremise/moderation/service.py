"""Moderation use cases: notices, the queue, decisions with statements of reasons, complaints.

Every function runs in the caller's transaction (`with db.begin(): ...`). Other modules call
`submit_for_review` (content held before publication), `issue_statement` (a restriction decided
elsewhere, such as a sanction), `is_hidden` (whether moderation hid a piece of content) and the
registry (`entremise.moderation.registry`).
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound, RateLimited
from entremise.kernel.ids import new_id
from entremise.moderation import domain, registry
from entremise.moderation.models import Complaint, HiddenContent, ModerationItem, Notice, StatementOfReasons
from entremise.moderation.registry import ContentRef
from entremise.notify.outbox import enqueue
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _token() -> tuple[str, str]:
    token = secrets.token_urlsafe(32)
    return token, _digest(token)


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


# --- views ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NoticeView:
    id: str
    item_id: str
    kind: str
    content_id: str
    name: str | None
    email: str | None
    details: dict[str, Any]
    outcome: str | None
    created_at: datetime


@dataclass(frozen=True)
class ItemView:
    id: str
    kind: str
    content_id: str
    author_id: str | None
    excerpt: str
    url: str | None
    source: str
    held: bool
    automated: bool
    evidence: dict[str, Any]
    status: str
    decision: str | None
    facts: str | None
    ground_kind: str | None
    ground: str | None
    rules: list[str]
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    notices: list[NoticeView] | None = None


@dataclass(frozen=True)
class StatementView:
    id: str
    user_id: str
    source_kind: str
    source_id: str
    action: str
    facts: str
    automated_detection: bool
    automated_decision: bool
    ground_kind: str
    ground: str
    rules: list[str]
    redress: str
    contest_until: datetime
    created_at: datetime


@dataclass(frozen=True)
class ComplaintView:
    id: str
    source_kind: str
    source_id: str
    statement_id: str | None
    notice_id: str | None
    complainant: str
    complainant_user_id: str | None
    text: str
    first_decider: str | None
    status: str
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    created_at: datetime


def _notice_view(n: Notice) -> NoticeView:
    return NoticeView(
        n.id, n.item_id, n.kind, n.content_id, n.name, n.email, dict(n.details), n.outcome, n.created_at
    )


def _item_view(i: ModerationItem, notices: list[Notice] | None = None) -> ItemView:
    return ItemView(
        id=i.id,
        kind=i.kind,
        content_id=i.content_id,
        author_id=i.author_id,
        excerpt=i.excerpt,
        url=i.url,
        source=i.source,
        held=i.held,
        automated=i.automated,
        evidence=dict(i.evidence or {}),
        status=i.status,
        decision=i.decision,
        facts=i.facts,
        ground_kind=i.ground_kind,
        ground=i.ground,
        rules=list(i.rules or []),
        decided_by=i.decided_by,
        decided_at=i.decided_at,
        created_at=i.created_at,
        notices=None if notices is None else [_notice_view(n) for n in notices],
    )


def _statement_view(s: StatementOfReasons) -> StatementView:
    return StatementView(
        s.id,
        s.user_id,
        s.source_kind,
        s.source_id,
        s.action,
        s.facts,
        s.automated_detection,
        s.automated_decision,
        s.ground_kind,
        s.ground,
        list(s.rules),
        s.redress,
        s.contest_until,
        s.created_at,
    )


def _complaint_view(c: Complaint) -> ComplaintView:
    return ComplaintView(
        c.id,
        c.source_kind,
        c.source_id,
        c.statement_id,
        c.notice_id,
        c.complainant,
        c.complainant_user_id,
        c.text,
        c.first_decider,
        c.status,
        c.answer,
        c.answered_by,
        c.answered_at,
        c.created_at,
    )


# --- the profile kind ----------------------------------------------------------------------------


def is_hidden(db: Session, *, platform_id: str, kind: str, content_id: str) -> bool:
    """Whether moderation restricted or removed this content (kinds this module keeps: profiles)."""
    return (
        db.scalar(
            select(HiddenContent.id).where(
                HiddenContent.platform_id == platform_id,
                HiddenContent.kind == kind,
                HiddenContent.content_id == content_id,
            )
        )
        is not None
    )


def _locate_profile(db: Session, platform_id: str, content_id: str) -> ContentRef | None:
    try:
        user = accounts.get_user(db, platform_id=platform_id, user_id=content_id)
    except NotFound:
        return None
    if user.status != "active":
        return None
    name = " ".join(p for p in (user.first_name, (user.last_name or "")[:1]) if p)
    return ContentRef(author_id=user.id, excerpt=f"profile of {name or user.id}")


def set_hidden(
    db: Session, *, platform_id: str, kind: str, content_id: str, state: str | None, now: datetime
) -> None:
    """Hide (`restricted`, `removed`) or show again (None) content this module keeps visibility for."""
    row = db.scalar(
        select(HiddenContent)
        .where(
            HiddenContent.platform_id == platform_id,
            HiddenContent.kind == kind,
            HiddenContent.content_id == content_id,
        )
        .with_for_update()
    )
    if state is None:
        if row is not None:
            db.delete(row)
    elif row is None:
        db.add(
            HiddenContent(
                id=new_id(), platform_id=platform_id, kind=kind, content_id=content_id, state=state, since=now
            )
        )
    else:
        row.state = state
    db.flush()


def _apply_profile(db: Session, platform_id: str, content_id: str, action: str, now: datetime) -> None:
    """A restricted or removed profile is hidden from public pages; restore and publish show it again."""
    state = {"remove": "removed", "restrict": "restricted"}.get(action)
    set_hidden(db, platform_id=platform_id, kind="profile", content_id=content_id, state=state, now=now)


registry.register_content_kind("profile", locate=_locate_profile, apply=_apply_profile)


# --- notices -------------------------------------------------------------------------------------


def notice_form(platform: PlatformView) -> dict[str, Any]:
    """What the public form asks for, and its warning (LAW-DSA-16, COMMON-NOTICE-1)."""
    s = platform.settings.moderation
    required = [*domain.DSA_FIELDS, "kind", "content_id"]
    if s.require_lcen_fields:
        required += ["notifier_type", "legal_grounds", "author_letter | author_unreachable_reason"]
    return {
        "kinds": registry.kinds(),
        "required": required,
        "natural_person": list(domain.LCEN_NATURAL) if s.require_lcen_fields else [],
        "legal_person": list(domain.LCEN_LEGAL) if s.require_lcen_fields else [],
        "warning": domain.FALSE_NOTICE_WARNING,
        "rules": list(domain.NOTICE_RULES),
    }


def _pending_item(db: Session, platform_id: str, kind: str, content_id: str) -> ModerationItem | None:
    return db.scalar(
        select(ModerationItem)
        .where(
            ModerationItem.platform_id == platform_id,
            ModerationItem.kind == kind,
            ModerationItem.content_id == content_id,
            ModerationItem.status == "pending",
        )
        .with_for_update()
    )


def _new_item(
    db: Session,
    *,
    platform_id: str,
    kind: str,
    content_id: str,
    ref: ContentRef,
    source: str,
    held: bool,
    automated: bool,
    evidence: dict[str, Any],
    now: datetime,
) -> ModerationItem:
    item = ModerationItem(
        id=new_id(),
        platform_id=platform_id,
        kind=kind,
        content_id=content_id,
        author_id=ref.author_id,
        excerpt=ref.excerpt[:500],
        url=ref.url,
        source=source,
        held=held,
        automated=automated,
        evidence=evidence,
        status="pending",
        rules=[],
        created_at=now,
    )
    db.add(item)
    db.flush()
    return item


def submit_notice(
    db: Session,
    *,
    platform: PlatformView,
    fields: dict[str, Any],
    ip: str,
    now: datetime,
    notifier_user_id: str | None = None,
) -> tuple[NoticeView, str]:
    """LAW-DSA-16, COMMON-NOTICE-1: record a notice from anyone, acknowledge it by e-mail (with the
    warning about false notices), and put the content in the queue. Returns the notice and the
    token of its contest link (also in the e-mails). Bad input and abuse change nothing."""
    settings = platform.settings.moderation
    errors = domain.check_notice(fields, require_lcen=settings.require_lcen_fields)
    kind = fields.get("kind")
    content_id = fields.get("content_id")
    if not isinstance(kind, str) or registry.kind(kind) is None:
        errors.append(FieldError("body.kind", f"one of {', '.join(registry.kinds())}"))
    if not isinstance(content_id, str) or not content_id.strip() or len(content_id) > 64:
        errors.append(FieldError("body.content_id", "required, at most 64 characters"))
    if errors:
        raise InvalidInput(errors, rules=domain.NOTICE_RULES)
    assert isinstance(kind, str) and isinstance(content_id, str)
    ref = registry.locate(db, kind, platform.id, content_id)
    if ref is None:
        raise InvalidInput(
            [FieldError("body.content_id", f"no {kind} with this id")], rules=domain.NOTICE_RULES
        )
    email = str(fields["email"]).strip().lower()
    ip_hash = _digest(f"{platform.id}:{ip}")
    email_hash = _digest(f"{platform.id}:{email}")
    by_ip = db.scalar(
        select(func.count())
        .select_from(Notice)
        .where(
            Notice.platform_id == platform.id,
            Notice.ip_hash == ip_hash,
            Notice.created_at > now - timedelta(hours=1),
        )
    )
    by_email = db.scalar(
        select(func.count())
        .select_from(Notice)
        .where(
            Notice.platform_id == platform.id,
            Notice.email_hash == email_hash,
            Notice.created_at > now - timedelta(days=1),
        )
    )
    if (by_ip or 0) >= settings.notices_per_ip_per_hour:
        raise RateLimited("too many notices from this address; try again later", 3600)
    if (by_email or 0) >= settings.notices_per_email_per_day:
        raise RateLimited("too many notices from this e-mail address today", 86400)
    item = _pending_item(db, platform.id, kind, content_id) or _new_item(
        db,
        platform_id=platform.id,
        kind=kind,
        content_id=content_id,
        ref=ref,
        source="notice",
        held=False,
        automated=False,
        evidence={},
        now=now,
    )
    keep = (
        *domain.DSA_FIELDS,
        "notifier_type",
        "legal_grounds",
        "author_letter",
        "author_unreachable_reason",
        *domain.LCEN_NATURAL,
        *domain.LCEN_LEGAL,
    )
    details = {
        k: (v.strip() if isinstance(v, str) else v)
        for k, v in fields.items()
        if k in keep and k not in ("name", "email")
    }
    details["notified_on"] = now.date().isoformat()
    token, token_hash = _token()
    notice = Notice(
        id=new_id(),
        platform_id=platform.id,
        item_id=item.id,
        kind=kind,
        content_id=content_id,
        notifier_user_id=notifier_user_id,
        name=str(fields["name"]).strip()[:200],
        email=email[:320],
        email_hash=email_hash,
        ip_hash=ip_hash,
        details=details,
        locale=platform.settings.locale,
        contest_token_hash=token_hash,
        created_at=now,
    )
    db.add(notice)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", notifier_user_id) if notifier_user_id else Actor("anonymous"),
        action="moderation.notice_received",
        obj=("moderation_notice", notice.id),
        at=now,
        rules=list(domain.NOTICE_RULES),
        data={"item_id": item.id, "kind": kind, "content_id": content_id},
    )
    enqueue(
        db,
        platform_id=platform.id,
        channel="email",
        template="moderation.notice_received",
        recipient=email,
        payload={
            "platform_name": platform.name,
            "notice_id": notice.id,
            "kind": kind,
            "location": details.get("location"),
            "received_at": now.isoformat(),
            "warning": domain.FALSE_NOTICE_WARNING.get(
                platform.settings.locale, domain.FALSE_NOTICE_WARNING["en"]
            ),
        },
        now=now,
        locale=platform.settings.locale,
        user_id=notifier_user_id,
    )
    return _notice_view(notice), token


def submit_for_review(
    db: Session,
    *,
    platform_id: str,
    kind: str,
    content_id: str,
    author_id: str,
    source: str,
    automated: bool,
    evidence: dict[str, Any],
    now: datetime,
) -> str:
    """Content held before publication waits for a person (COMMON-MODERATION-1): the queue item id.
    `automated` says whether automated means flagged it (disclosed in any statement, LAW-DSA-17)."""
    existing = _pending_item(db, platform_id, kind, content_id)
    if existing is not None:
        existing.held = True
        existing.automated = existing.automated or automated
        existing.evidence = {**(existing.evidence or {}), source: evidence}
        db.flush()
        return existing.id
    ref = registry.locate(db, kind, platform_id, content_id) or ContentRef(author_id=author_id)
    item = _new_item(
        db,
        platform_id=platform_id,
        kind=kind,
        content_id=content_id,
        ref=ContentRef(author_id, ref.excerpt, ref.url),
        source=source,
        held=True,
        automated=automated,
        evidence={source: evidence},
        now=now,
    )
    record(
        db,
        platform_id=platform_id,
        actor=Actor.system(),
        action="moderation.item_submitted",
        obj=("moderation_item", item.id),
        at=now,
        rules=["COMMON-MODERATION-1"],
        data={"kind": kind, "content_id": content_id, "source": source, "automated": automated},
    )
    return item.id


# --- the queue -----------------------------------------------------------------------------------


def _item(db: Session, platform_id: str, item_id: str, *, lock: bool = False) -> ModerationItem:
    q = select(ModerationItem).where(ModerationItem.platform_id == platform_id, ModerationItem.id == item_id)
    if lock:
        q = q.with_for_update()
    item = db.scalar(q)
    if item is None:
        raise NotFound("no such moderation item")
    return item


def _notices_of(db: Session, platform_id: str, item_id: str) -> list[Notice]:
    return list(
        db.scalars(
            select(Notice)
            .where(Notice.platform_id == platform_id, Notice.item_id == item_id)
            .order_by(Notice.created_at, Notice.id)
        )
    )


def list_items(
    db: Session,
    *,
    platform_id: str,
    status: str | None = "pending",
    after_id: str | None = None,
    limit: int = 50,
) -> list[ItemView]:
    q = select(ModerationItem).where(ModerationItem.platform_id == platform_id)
    if status:
        q = q.where(ModerationItem.status == status)
    if after_id:
        q = q.where(ModerationItem.id > after_id)
    return [_item_view(i) for i in db.scalars(q.order_by(ModerationItem.id).limit(limit))]


def get_item(db: Session, *, platform_id: str, item_id: str) -> ItemView:
    item = _item(db, platform_id, item_id)
    return _item_view(item, _notices_of(db, platform_id, item_id))


def _contest_url(base_url: str, platform: PlatformView) -> str:
    return f"{base_url.rstrip('/')}/api/v1/platforms/{platform.slug}/moderation/complaints"


def issue_statement(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    source_kind: str,
    source_id: str,
    action: str,
    facts: str,
    automated_detection: bool,
    ground_kind: str,
    ground: str,
    rules: list[str] | tuple[str, ...],
    decided_by: str | None,
    now: datetime,
    base_url: str = "",
    extra: dict[str, Any] | None = None,
) -> StatementView:
    """LAW-DSA-17: record a statement of reasons for a restriction and e-mail it to the person it
    affects, with a link to contest it (LAW-DSA-20). `extra` is added to the e-mail's payload."""
    deadline = domain.add_months(now, platform.settings.moderation.complaint_months)
    st = domain.statement(
        action=action,
        facts=facts,
        automated_detection=automated_detection,
        ground_kind=ground_kind,
        ground=ground,
        rules=tuple(rules),
        complaint_deadline=deadline,
    )
    token, token_hash = _token()
    row = StatementOfReasons(
        id=new_id(),
        platform_id=platform.id,
        user_id=user_id,
        source_kind=source_kind,
        source_id=source_id,
        action=st.action,
        facts=st.facts,
        automated_detection=st.automated_detection,
        automated_decision=st.automated_decision,
        ground_kind=st.ground_kind,
        ground=st.ground,
        rules=list(st.rules),
        redress=st.redress,
        decided_by=decided_by,
        contest_until=deadline,
        contest_token_hash=token_hash,
        created_at=now,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("staff", decided_by) if decided_by else Actor.system(),
        action="moderation.statement_issued",
        obj=("moderation_statement", row.id),
        at=now,
        rules=list(st.rules),
        data={"user_id": user_id, "source": [source_kind, source_id], "action": action},
    )
    contact = accounts.contact_of(db, platform.id, user_id)
    if contact.email:
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="moderation.statement_of_reasons",
            recipient=contact.email,
            payload={
                "platform_name": platform.name,
                "statement_id": row.id,
                "action": st.action,
                "facts": st.facts,
                "automated_detection": st.automated_detection,
                "automated_decision": st.automated_decision,
                "ground_kind": st.ground_kind,
                "ground": st.ground,
                "rules": list(st.rules),
                "contest_until": deadline.isoformat(),
                "contest_url": _contest_url(base_url, platform),
                "contest_token": token,
                **(extra or {}),
            },
            now=now,
            locale=contact.locale,
            user_id=user_id,
        )
    return _statement_view(row)


def _check_ground(facts: str, ground_kind: str, ground: str, rules: list[str]) -> None:
    errors = domain.check_rules(rules)
    if not facts.strip():
        errors.append(FieldError("body.facts", "state the facts the decision rests on (LAW-DSA-17)"))
    if ground_kind not in domain.GROUNDS:
        errors.append(FieldError("body.ground_kind", "law or terms"))
    if not ground.strip():
        errors.append(
            FieldError("body.ground", "the legal provision or the clause of the terms (LAW-DSA-17)")
        )
    if len(facts) > 5000 or len(ground) > 2000:
        errors.append(FieldError("body.facts", "facts at most 5000 characters, ground at most 2000"))
    if errors:
        raise InvalidInput(errors, rules=[domain.STATEMENT_RULE])


def _tell_notifiers(
    db: Session,
    platform: PlatformView,
    item: ModerationItem,
    outcome: str,
    reasons: str,
    now: datetime,
    template: str = "moderation.notice_outcome",
) -> None:
    for n in _notices_of(db, platform.id, item.id):
        n.outcome = outcome
        if n.email:
            enqueue(
                db,
                platform_id=platform.id,
                channel="email",
                template=template,
                recipient=n.email,
                payload={
                    "platform_name": platform.name,
                    "notice_id": n.id,
                    "received_at": n.created_at.isoformat(),
                    "outcome": outcome,
                    "reasons": reasons,
                    "contest_until": domain.add_months(
                        item.decided_at or now, platform.settings.moderation.complaint_months
                    ).isoformat(),
                },
                now=now,
                locale=n.locale,
                user_id=n.notifier_user_id,
            )


def decide(
    db: Session,
    *,
    platform: PlatformView,
    item_id: str,
    staff_id: str,
    decision: str,
    facts: str,
    ground_kind: str,
    ground: str,
    rules: list[str],
    now: datetime,
    base_url: str = "",
) -> ItemView:
    """COMMON-MODERATION-1, LAW-DSA-16/17: a person decides an item: remove, restrict or keep. The
    content module applies it; a removal or restriction sends the author a statement of reasons; each
    notifier is told the outcome."""
    if decision not in domain.DECISIONS:
        raise InvalidInput(
            [FieldError("body.decision", "remove, restrict or keep")], rules=domain.DECISION_RULES
        )
    _check_ground(facts, ground_kind, ground, rules)
    item = _item(db, platform.id, item_id, lock=True)
    if item.status != "pending":
        raise Conflict(f"this item was already decided ({item.decision})")
    kind = registry.kind(item.kind)
    if kind is None:
        raise Conflict(f"no module handles content of kind {item.kind!r} in this installation")
    action = domain.content_action(decision, held=item.held)
    if action is not None:
        kind.apply(db, platform.id, item.content_id, action, now)
    item.status = "decided"
    item.decision = decision
    item.facts = facts.strip()
    item.ground_kind = ground_kind
    item.ground = ground.strip()
    item.rules = list(dict.fromkeys([*rules, *domain.DECISION_RULES]))
    item.decided_by = staff_id
    item.decided_at = now
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("staff", staff_id),
        action=f"moderation.decided.{decision}",
        obj=("moderation_item", item.id),
        at=now,
        rules=item.rules,
        reason=item.facts,
        data={"kind": item.kind, "content_id": item.content_id, "content_action": action},
    )
    if domain.needs_statement(decision) and item.author_id:
        issue_statement(
            db,
            platform=platform,
            user_id=item.author_id,
            source_kind="moderation_item",
            source_id=item.id,
            action=f"{item.kind} {'removed' if decision == 'remove' else 'visibility restricted'}",
            facts=item.facts,
            automated_detection=item.automated,
            ground_kind=ground_kind,
            ground=item.ground,
            rules=item.rules,
            decided_by=staff_id,
            now=now,
            base_url=base_url,
            extra={"excerpt": item.excerpt},
        )
    _tell_notifiers(db, platform, item, decision, item.facts, now)
    return get_item(db, platform_id=platform.id, item_id=item.id)


# --- statements and complaints -------------------------------------------------------------------


def my_statements(
    db: Session, *, platform_id: str, user_id: str, after_id: str | None = None, limit: int = 50
) -> list[StatementView]:
    q = select(StatementOfReasons).where(
        StatementOfReasons.platform_id == platform_id, StatementOfReasons.user_id == user_id
    )
    if after_id:
        q = q.where(StatementOfReasons.id > after_id)
    return [_statement_view(s) for s in db.scalars(q.order_by(StatementOfReasons.id).limit(limit))]


def get_statement(
    db: Session, *, platform_id: str, statement_id: str, user_id: str | None = None
) -> StatementView:
    """A statement; with `user_id`, only the one it was sent to sees it (others get 404)."""
    s = db.scalar(
        select(StatementOfReasons).where(
            StatementOfReasons.platform_id == platform_id, StatementOfReasons.id == statement_id
        )
    )
    if s is None or (user_id is not None and s.user_id != user_id):
        raise NotFound("no such statement of reasons")
    return _statement_view(s)


def _check_text(text: str) -> None:
    if not text.strip():
        raise InvalidInput(
            [FieldError("body.text", "say why the decision should change")], rules=[domain.COMPLAINT_RULE]
        )
    if len(text) > 5000:
        raise InvalidInput(
            [FieldError("body.text", "at most 5000 characters")], rules=[domain.COMPLAINT_RULE]
        )


def _open_complaint(
    db: Session,
    *,
    platform: PlatformView,
    source_kind: str,
    source_id: str,
    decided_at: datetime,
    first_decider: str | None,
    complainant: str,
    user_id: str | None,
    statement_id: str | None,
    notice_id: str | None,
    text: str,
    now: datetime,
) -> ComplaintView:
    verdict = domain.complaint_verdict(decided_at, now, platform.settings.moderation.complaint_months)
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules)
    pending = db.scalar(
        select(Complaint.id).where(
            Complaint.platform_id == platform.id,
            Complaint.source_kind == source_kind,
            Complaint.source_id == source_id,
            Complaint.complainant == complainant,
            Complaint.status == "open",
        )
    )
    if pending is not None:
        raise Conflict(
            "a complaint about this decision is already being handled", rules=[domain.COMPLAINT_RULE]
        )
    c = Complaint(
        id=new_id(),
        platform_id=platform.id,
        source_kind=source_kind,
        source_id=source_id,
        statement_id=statement_id,
        notice_id=notice_id,
        complainant=complainant,
        complainant_user_id=user_id,
        text=text.strip(),
        first_decider=first_decider,
        status="open",
        created_at=now,
    )
    db.add(c)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user_id) if user_id else Actor("anonymous"),
        action="moderation.complaint_filed",
        obj=("moderation_complaint", c.id),
        at=now,
        rules=[domain.COMPLAINT_RULE],
        data={"source": [source_kind, source_id], "complainant": complainant},
    )
    return _complaint_view(c)


def contest_statement(
    db: Session, *, platform: PlatformView, statement_id: str, user_id: str, text: str, now: datetime
) -> ComplaintView:
    """LAW-DSA-20: the person a statement was sent to contests the decision behind it."""
    _check_text(text)
    s = db.scalar(
        select(StatementOfReasons).where(
            StatementOfReasons.platform_id == platform.id, StatementOfReasons.id == statement_id
        )
    )
    if s is None or s.user_id != user_id:
        raise NotFound("no such statement of reasons")
    return _open_complaint(
        db,
        platform=platform,
        source_kind=s.source_kind,
        source_id=s.source_id,
        decided_at=s.created_at,
        first_decider=s.decided_by,
        complainant="addressee",
        user_id=user_id,
        statement_id=s.id,
        notice_id=None,
        text=text,
        now=now,
    )


def contest_with_token(
    db: Session, *, platform: PlatformView, token: str, text: str, now: datetime
) -> ComplaintView:
    """LAW-DSA-20 without an account: the token of a statement's e-mail (its addressee, even
    suspended) or of a notice's acknowledgment (the notifier, once the notice is decided)."""
    _check_text(text)
    h = _digest(token)
    s = db.scalar(
        select(StatementOfReasons).where(
            StatementOfReasons.platform_id == platform.id, StatementOfReasons.contest_token_hash == h
        )
    )
    if s is not None:
        return _open_complaint(
            db,
            platform=platform,
            source_kind=s.source_kind,
            source_id=s.source_id,
            decided_at=s.created_at,
            first_decider=s.decided_by,
            complainant="addressee",
            user_id=s.user_id,
            statement_id=s.id,
            notice_id=None,
            text=text,
            now=now,
        )
    n = db.scalar(select(Notice).where(Notice.platform_id == platform.id, Notice.contest_token_hash == h))
    if n is None:
        raise InvalidInput(
            [FieldError("body.token", "not a link this platform sent")], rules=[domain.COMPLAINT_RULE]
        )
    item = _item(db, platform.id, n.item_id)
    if item.status == "pending" or item.decided_at is None:
        raise Conflict("this notice has not been decided yet", rules=[domain.COMPLAINT_RULE])
    return _open_complaint(
        db,
        platform=platform,
        source_kind="moderation_item",
        source_id=item.id,
        decided_at=item.decided_at,
        first_decider=item.decided_by,
        complainant="notifier",
        user_id=n.notifier_user_id,
        statement_id=None,
        notice_id=n.id,
        text=text,
        now=now,
    )


def list_complaints(
    db: Session,
    *,
    platform_id: str,
    status: str | None = "open",
    after_id: str | None = None,
    limit: int = 50,
) -> list[ComplaintView]:
    q = select(Complaint).where(Complaint.platform_id == platform_id)
    if status:
        q = q.where(Complaint.status == status)
    if after_id:
        q = q.where(Complaint.id > after_id)
    return [_complaint_view(c) for c in db.scalars(q.order_by(Complaint.id).limit(limit))]


def my_complaints(db: Session, *, platform_id: str, user_id: str) -> list[ComplaintView]:
    q = select(Complaint).where(
        Complaint.platform_id == platform_id, Complaint.complainant_user_id == user_id
    )
    return [_complaint_view(c) for c in db.scalars(q.order_by(Complaint.id))]


def _reverse_item(
    db: Session,
    platform: PlatformView,
    item_id: str,
    staff_id: str,
    reasons: str,
    now: datetime,
    base_url: str,
) -> None:
    item = _item(db, platform.id, item_id, lock=True)
    if item.status != "decided" or item.decision is None:
        raise Conflict("this decision was already reversed")
    kind = registry.kind(item.kind)
    if kind is None:
        raise Conflict(f"no module handles content of kind {item.kind!r} in this installation")
    action = domain.reversal_action(item.decision)
    if action == "restore" or not item.held:
        kind.apply(db, platform.id, item.content_id, action, now)
    else:  # held content that was wrongly published: remove it
        kind.apply(db, platform.id, item.content_id, "remove", now)
    item.status = "reversed"
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("staff", staff_id),
        action="moderation.reversed",
        obj=("moderation_item", item.id),
        at=now,
        rules=[domain.COMPLAINT_RULE, *item.rules],
        reason=reasons,
        data={"from": item.decision, "content_action": action},
    )
    if action == "remove" and item.author_id:
        issue_statement(
            db,
            platform=platform,
            user_id=item.author_id,
            source_kind="moderation_reversal",
            source_id=item.id,
            action=f"{item.kind} removed after a complaint",
            facts=reasons,
            automated_detection=item.automated,
            ground_kind=item.ground_kind or "terms",
            ground=item.ground or "",
            rules=[domain.COMPLAINT_RULE, *item.rules],
            decided_by=staff_id,
            now=now,
            base_url=base_url,
        )


def answer_complaint(
    db: Session,
    *,
    platform: PlatformView,
    complaint_id: str,
    staff_id: str,
    outcome: str,
    reasons: str,
    now: datetime,
    base_url: str = "",
) -> ComplaintView:
    """LAW-DSA-20: a staff member other than the first decider answers with reasons. `reversed`
    (the decision was unfounded) undoes it at once; `upheld` keeps it."""
    errors: list[FieldError] = []
    if outcome not in ("upheld", "reversed"):
        errors.append(FieldError("body.outcome", "upheld or reversed"))
    if not reasons.strip() or len(reasons) > 5000:
        errors.append(FieldError("body.reasons", "the reasons of the answer (1 to 5000 characters)"))
    if errors:
        raise InvalidInput(errors, rules=[domain.COMPLAINT_RULE])
    c = db.scalar(
        select(Complaint)
        .where(Complaint.platform_id == platform.id, Complaint.id == complaint_id)
        .with_for_update()
    )
    if c is None:
        raise NotFound("no such complaint")
    if c.status != "open":
        raise Conflict(f"this complaint was already answered ({c.status})")
    verdict = domain.answerer_verdict(c.first_decider, staff_id)
    if not verdict.allowed:
        raise Forbidden(verdict.reason, rules=verdict.rules)
    if outcome == "reversed":
        if c.source_kind == "moderation_item":
            _reverse_item(db, platform, c.source_id, staff_id, reasons.strip(), now, base_url)
        else:
            reverser = registry.REVERSERS.get(c.source_kind)
            if reverser is None:
                raise Conflict(f"decisions of kind {c.source_kind!r} cannot be reversed here")
            reverser(db, platform.id, c.source_id, staff_id, reasons.strip(), now)
    c.status = outcome
    c.answer = reasons.strip()
    c.answered_by = staff_id
    c.answered_at = now
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("staff", staff_id),
        action=f"moderation.complaint_{outcome}",
        obj=("moderation_complaint", c.id),
        at=now,
        rules=[domain.COMPLAINT_RULE],
        reason=c.answer,
        data={"source": [c.source_kind, c.source_id]},
    )
    recipient, locale = None, platform.settings.locale
    if c.notice_id:
        n = db.get(Notice, c.notice_id)
        recipient = n.email if n else None
    elif c.complainant_user_id:
        contact = accounts.contact_of(db, platform.id, c.complainant_user_id)
        recipient, locale = contact.email, contact.locale
    if recipient:
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="moderation.complaint_answered",
            recipient=recipient,
            payload={
                "platform_name": platform.name,
                "complaint_id": c.id,
                "outcome": outcome,
                "reasons": c.answer,
                "filed_at": c.created_at.isoformat(),
            },
            now=now,
            locale=locale,
            user_id=c.complainant_user_id,
        )
    return _complaint_view(c)


# --- privacy -------------------------------------------------------------------------------------


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    """COMMON-PRIVACY-1: the statements sent to the user, the notices and complaints they filed."""
    statements = [
        {
            "id": s.id,
            "action": s.action,
            "facts": s.facts,
            "ground_kind": s.ground_kind,
            "ground": s.ground,
            "rules": s.rules,
            "automated_detection": s.automated_detection,
            "contest_until": _iso(s.contest_until),
            "created_at": _iso(s.created_at),
        }
        for s in my_statements(db, platform_id=platform_id, user_id=user_id, limit=10_000)
    ]
    notices = [
        {
            "id": n.id,
            "kind": n.kind,
            "content_id": n.content_id,
            "details": n.details,
            "outcome": n.outcome,
            "created_at": _iso(n.created_at),
        }
        for n in db.scalars(
            select(Notice)
            .where(Notice.platform_id == platform_id, Notice.notifier_user_id == user_id)
            .order_by(Notice.id)
        )
    ]
    complaints = [
        {
            "id": c.id,
            "text": c.text,
            "status": c.status,
            "answer": c.answer,
            "created_at": _iso(c.created_at),
            "answered_at": _iso(c.answered_at),
        }
        for c in my_complaints(db, platform_id=platform_id, user_id=user_id)
    ]
    return {"statements_of_reasons": statements, "notices": notices, "complaints": complaints}


def platform_of(db: Session, platform_id: str) -> PlatformView:
    return platforms.get(db, platform_id)
