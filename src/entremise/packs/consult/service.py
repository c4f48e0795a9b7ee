"""Use cases of the consult pack that act on the database (the caller opens the transaction)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, InvalidInput
from entremise.kernel.ids import new_id
from entremise.notify.outbox import enqueue
from entremise.packs.consult import policies
from entremise.packs.consult.settings import ConsultSettings
from entremise.platforms.service import PlatformView


def settings_of(platform: PlatformView) -> ConsultSettings:
    if platform.settings.pack != "consult":
        raise Conflict("this platform does not run the consult pack")
    return ConsultSettings.model_validate(platform.settings.pack_settings)


@dataclass(frozen=True)
class NoticeView:
    id: str
    user_id: str
    grievances: str
    remedy_due: datetime
    rules: tuple[str, ...]
    reason: str


def formal_notice(
    db: Session, *, platform: PlatformView, user_id: str, grievances: str, actor: Actor, now: datetime
) -> NoticeView:
    """CONSULT-SANCTION-1: a lesser breach gets a formal notice, by e-mail, stating its grievances,
    with 30 days to remedy and a sworn statement to send back; recorded in the audit trail."""
    settings = settings_of(platform)
    text = grievances.strip()
    if not text:
        raise InvalidInput([FieldError("body.grievances", "state the breach")], rules=["CONSULT-SANCTION-1"])
    user = accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    decision = policies.sanction(settings, urgent=False, now=now)
    due = decision.outcome.remedy_due
    assert due is not None
    contact = accounts.contact_of(db, platform.id, user.id)
    if contact.email is None:
        raise Conflict("this account has no e-mail address to send the notice to", rules=decision.rules)
    notice_id = new_id()
    enqueue(
        db,
        platform_id=platform.id,
        channel="email",
        template="consult.formal_notice",
        recipient=contact.email,
        payload={
            "platform_name": platform.name,
            "grievances": text,
            "remedy_due": due.isoformat(),
            "rules": ", ".join(decision.rules),
        },
        now=now,
        locale=contact.locale,
        user_id=user.id,
        dedupe_key=f"consult.formal_notice:{notice_id}",
    )
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="consult.formal_notice",
        obj=("user", user.id),
        at=now,
        rules=decision.rules,
        reason=decision.reason,
        data={"notice_id": notice_id, "grievances": text, "remedy_due": due.isoformat()},
    )
    return NoticeView(notice_id, user.id, text, due, decision.rules, decision.reason)
