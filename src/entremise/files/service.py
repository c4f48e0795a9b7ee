"""Files use cases. Each function runs in the caller's transaction (`with db.begin():`).

Who may read a file: its owner, the users a module granted it to (`grant`), and staff. Anyone
else is told it does not exist (404), so a file id reveals nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.config import Settings
from entremise.files import domain
from entremise.files.models import FileGrant, StoredFile
from entremise.files.purposes import get_purpose, purpose_names
from entremise.files.storage import FileStore
from entremise.kernel.errors import FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.platforms.service import PlatformView

FILE_ID_FIELD = "file"


@dataclass(frozen=True)
class FileView:
    id: str
    platform_id: str
    owner_id: str
    purpose: str
    name: str
    content_type: str
    size: int
    sha256: str
    created_at: datetime


def store_of(settings: Settings) -> FileStore:
    return FileStore(settings.files_dir)


def _view(row: StoredFile) -> FileView:
    return FileView(
        row.id,
        row.platform_id,
        row.owner_id,
        row.purpose,
        row.name,
        row.content_type,
        row.size,
        row.sha256,
        row.created_at,
    )


def upload(
    db: Session,
    store: FileStore,
    *,
    platform: PlatformView,
    owner_id: str,
    owner_role: str,
    purpose: str,
    name: str | None,
    data: bytes,
    now: datetime,
) -> FileView:
    """Check the file against its purpose's rule (sniffed type, size), store it, record it.

    The bytes are written before the row: if the transaction then rolls back, an unreferenced
    blob stays in the store (harmless: content-addressed, never served without a row)."""
    spec = get_purpose(purpose)
    if spec is None:
        raise InvalidInput([FieldError("body.purpose", f"one of {', '.join(purpose_names()) or '(none)'}")])
    if owner_role not in spec.roles:
        raise Forbidden(f"files for {purpose!r} are uploaded by: {', '.join(spec.roles)}")
    rule = spec.rule(platform.settings)
    sniffed = domain.sniff(data[:8192])
    verdict = domain.check_upload(rule, len(data), sniffed)
    if not verdict.allowed:
        raise InvalidInput([FieldError(f"body.{FILE_ID_FIELD}", verdict.reason)])
    assert sniffed is not None
    digest = store.put(platform.id, data)
    row = StoredFile(
        id=new_id(),
        platform_id=platform.id,
        owner_id=owner_id,
        purpose=purpose,
        name=domain.clean_name(name, sniffed),
        content_type=sniffed,
        size=len(data),
        sha256=digest,
        created_at=now,
    )
    db.add(row)
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", owner_id),
        action="file.uploaded",
        obj=("file", row.id),
        at=now,
        reason=verdict.reason,
        data={"purpose": purpose, "content_type": sniffed, "size": len(data), "sha256": digest},
    )
    return _view(row)


def _row(db: Session, platform_id: str, file_id: str) -> StoredFile | None:
    return db.scalar(
        select(StoredFile).where(StoredFile.platform_id == platform_id, StoredFile.id == file_id)
    )


def may_read(db: Session, *, platform_id: str, file_id: str, user_id: str, is_staff: bool = False) -> bool:
    row = _row(db, platform_id, file_id)
    if row is None:
        return False
    if is_staff or row.owner_id == user_id:
        return True
    granted = db.scalar(
        select(FileGrant.id).where(
            FileGrant.platform_id == platform_id, FileGrant.file_id == file_id, FileGrant.user_id == user_id
        )
    )
    return granted is not None


def readable(
    db: Session, *, platform_id: str, file_id: str, user_id: str, is_staff: bool = False
) -> FileView:
    """The file, if this user may read it; NotFound otherwise (also for another platform's file)."""
    if not may_read(db, platform_id=platform_id, file_id=file_id, user_id=user_id, is_staff=is_staff):
        raise NotFound(f"no file {file_id!r}")
    row = _row(db, platform_id, file_id)
    assert row is not None
    return _view(row)


def content(store: FileStore, view: FileView) -> bytes:
    return store.read(view.platform_id, view.sha256)


def owned(
    db: Session,
    *,
    platform_id: str,
    owner_id: str,
    file_ids: Sequence[str],
    purpose: str,
    field: str,
) -> list[FileView]:
    """The caller's own files of one purpose, for attaching to an object of another module.

    Every id that is not one of the caller's files of that purpose is named (`field.N`) in one
    InvalidInput; another user's file gets the same answer as a missing one."""
    errors: list[FieldError] = []
    views: list[FileView] = []
    if len(set(file_ids)) != len(file_ids):
        errors.append(FieldError(field, "a file is listed twice"))
    for i, file_id in enumerate(file_ids):
        row = _row(db, platform_id, file_id)
        if row is None or row.owner_id != owner_id:
            errors.append(FieldError(f"{field}.{i}", "no such file among yours"))
        elif row.purpose != purpose:
            errors.append(
                FieldError(f"{field}.{i}", f"this file was uploaded for {row.purpose!r}, not {purpose!r}")
            )
        else:
            views.append(_view(row))
    if errors:
        raise InvalidInput(errors)
    return views


def grant(
    db: Session,
    *,
    platform_id: str,
    file_id: str,
    user_id: str,
    cause: tuple[str, str],
    now: datetime,
    actor: Actor | None = None,
) -> None:
    """Let `user_id` read a file because of `cause` (an order, a claim...). Idempotent."""
    if _row(db, platform_id, file_id) is None:
        raise NotFound(f"no file {file_id!r}")
    exists = db.scalar(
        select(FileGrant.id).where(
            FileGrant.file_id == file_id,
            FileGrant.user_id == user_id,
            FileGrant.cause_type == cause[0],
            FileGrant.cause_id == cause[1],
        )
    )
    if exists is not None:
        return
    db.add(
        FileGrant(
            id=new_id(),
            platform_id=platform_id,
            file_id=file_id,
            user_id=user_id,
            cause_type=cause[0],
            cause_id=cause[1],
            created_at=now,
        )
    )
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=actor or Actor.system(),
        action="file.granted",
        obj=("file", file_id),
        at=now,
        data={"user_id": user_id, "cause": list(cause)},
    )


def list_owned(
    db: Session,
    *,
    platform_id: str,
    owner_id: str,
    after_id: str | None,
    limit: int,
    purpose: str | None = None,
) -> list[FileView]:
    q = select(StoredFile).where(StoredFile.platform_id == platform_id, StoredFile.owner_id == owner_id)
    if purpose:
        q = q.where(StoredFile.purpose == purpose)
    if after_id:
        q = q.where(StoredFile.id > after_id)
    return [_view(r) for r in db.scalars(q.order_by(StoredFile.id).limit(limit))]
