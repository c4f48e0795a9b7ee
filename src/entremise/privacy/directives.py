"""Post-mortem directives (COMMON-PRIVACY-1; Loi Informatique et Libertés art. 85): what a user wants
done with their data after death (kept, erased or communicated), free instructions, and the person
they designate to carry them out. The user sets, reads, changes and revokes them at any time; staff
read them when a death is reported. Each function runs inside the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.kernel.errors import FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.privacy import domain
from entremise.privacy.models import PostMortemDirective

RULES = [domain.RULE_REQUESTS]


@dataclass(frozen=True)
class DirectiveView:
    data_fate: str
    instructions: str
    trusted_person_name: str | None
    trusted_person_contact: str | None
    created_at: datetime
    updated_at: datetime


def _view(row: PostMortemDirective) -> DirectiveView:
    return DirectiveView(
        row.data_fate,
        row.instructions,
        row.trusted_person_name,
        row.trusted_person_contact,
        row.created_at,
        row.updated_at,
    )


def _row(db: Session, platform_id: str, user_id: str) -> PostMortemDirective | None:
    return db.scalar(
        select(PostMortemDirective)
        .where(PostMortemDirective.platform_id == platform_id, PostMortemDirective.user_id == user_id)
        .with_for_update()
    )


def get_directives(db: Session, *, platform_id: str, user_id: str) -> DirectiveView:
    accounts.get_user(db, platform_id=platform_id, user_id=user_id)
    row = _row(db, platform_id, user_id)
    if row is None:
        raise NotFound("no post-mortem directives are recorded")
    return _view(row)


def set_directives(
    db: Session,
    *,
    platform_id: str,
    user_id: str,
    data_fate: str,
    instructions: str,
    trusted_person_name: str | None,
    trusted_person_contact: str | None,
    now: datetime,
) -> DirectiveView:
    errors = []
    if data_fate not in domain.DATA_FATES:
        errors.append(FieldError("body.data_fate", f"one of {', '.join(domain.DATA_FATES)}"))
    name = (trusted_person_name or "").strip() or None
    contact = (trusted_person_contact or "").strip() or None
    if data_fate == "communicate" and name is None:
        errors.append(FieldError("body.trusted_person_name", "say to whom the data are to be communicated"))
    if (name is None) != (contact is None):
        field = "body.trusted_person_contact" if contact is None else "body.trusted_person_name"
        errors.append(FieldError(field, "a designated person has a name and a way to reach them"))
    if errors:
        raise InvalidInput(errors, rules=RULES)
    user = accounts.get_user(db, platform_id=platform_id, user_id=user_id)
    if user.status != "active":
        raise NotFound("no such user")
    row = _row(db, platform_id, user_id)
    if row is None:
        row = PostMortemDirective(id=new_id(), platform_id=platform_id, user_id=user_id, created_at=now)
        db.add(row)
    row.data_fate, row.instructions = data_fate, instructions.strip()
    row.trusted_person_name, row.trusted_person_contact, row.updated_at = name, contact, now
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="postmortem_directives.set",
        obj=("user", user_id),
        at=now,
        rules=RULES,
        data={"data_fate": data_fate, "trusted_person": name is not None},
    )
    return _view(row)


def revoke_directives(db: Session, *, platform_id: str, user_id: str, now: datetime) -> None:
    accounts.get_user(db, platform_id=platform_id, user_id=user_id)
    row = _row(db, platform_id, user_id)
    if row is None:
        raise NotFound("no post-mortem directives are recorded")
    db.delete(row)
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="postmortem_directives.revoked",
        obj=("user", user_id),
        at=now,
        rules=RULES,
    )
    db.flush()
