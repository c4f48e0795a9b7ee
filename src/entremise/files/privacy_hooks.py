"""Files in the privacy export (COMMON-PRIVACY-1): the metadata of the files a user uploaded and of
the grants that let them read someone else's file. Never the bytes: the user downloads those through
the files API."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.files.models import FileGrant, StoredFile
from entremise.privacy.parties import iso
from entremise.privacy.registry import register_exporter


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    files = db.scalars(
        select(StoredFile)
        .where(StoredFile.platform_id == platform_id, StoredFile.owner_id == user_id)
        .order_by(StoredFile.created_at, StoredFile.id)
    ).all()
    grants = db.scalars(
        select(FileGrant)
        .where(FileGrant.platform_id == platform_id, FileGrant.user_id == user_id)
        .order_by(FileGrant.created_at, FileGrant.id)
    ).all()
    return {
        "uploaded": [
            {
                "id": f.id,
                "purpose": f.purpose,
                "name": f.name,
                "content_type": f.content_type,
                "size": f.size,
                "sha256": f.sha256,
                "created_at": iso(f.created_at),
            }
            for f in files
        ],
        "granted": [
            {"file_id": g.file_id, "cause": [g.cause_type, g.cause_id], "created_at": iso(g.created_at)}
            for g in grants
        ],
    }


register_exporter("files", lambda db, p, uid: export_data(db, platform_id=p.id, user_id=uid))
