"""Tables of the files module: the stored files and who else may read each one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from entremise.db.base import Base, UTCDateTime
from entremise.platforms import models as _platforms  # noqa: F401 (the table our foreign keys target)


class StoredFile(Base):
    """An uploaded file: who owns it, what for, its sniffed type, size and SHA-256.

    The bytes live in the file store (outside the web root) under `platform_id/sha256`.
    """

    __tablename__ = "stored_files"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    owner_id: Mapped[str] = mapped_column(String(36))
    purpose: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (Index("ix_stored_files_owner", "platform_id", "owner_id", "purpose"),)


class FileGrant(Base):
    """A user other than the owner may read a file, because of an object of another module
    (the provider of an order reads its brief; the client reads the delivery)."""

    __tablename__ = "file_grants"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    platform_id: Mapped[str] = mapped_column(String(36), ForeignKey("platforms.id"))
    file_id: Mapped[str] = mapped_column(String(36), ForeignKey("stored_files.id"))
    user_id: Mapped[str] = mapped_column(String(36))
    cause_type: Mapped[str] = mapped_column(String(40))
    cause_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    __table_args__ = (
        UniqueConstraint("file_id", "user_id", "cause_type", "cause_id", name="uq_file_grants_grant"),
        Index("ix_file_grants_user", "platform_id", "user_id", "file_id"),
    )
