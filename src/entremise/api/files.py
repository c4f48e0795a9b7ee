"""Files over HTTP: upload (multipart), read the record, download with safe headers.

The upload route is the only one that takes bodies above `ENTREMISE_MAX_BODY_BYTES`: up to
`ENTREMISE_MAX_UPLOAD_BYTES` (see `UPLOAD_PATH`, used by the application factory); each purpose
then applies its own, usually smaller, limit.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, File, Form, Path, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel

from entremise.accounts.auth import CurrentPrincipal, Principal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import Page
from entremise.files import domain, service
from entremise.files.service import FileView
from entremise.kernel.errors import FieldError, InvalidInput
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["files"])

UPLOAD_PATH = re.compile(r"^/api/v1/platforms/[^/]+/files/?$")
FileId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
PurposeName = Annotated[str, Form(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_]{0,39}$")]


class FileOut(BaseModel):
    id: str
    purpose: str
    name: str
    content_type: str
    size: int
    sha256: str
    owner_id: str
    created_at: datetime

    @staticmethod
    def of(v: FileView) -> FileOut:
        return FileOut(
            id=v.id,
            purpose=v.purpose,
            name=v.name,
            content_type=v.content_type,
            size=v.size,
            sha256=v.sha256,
            owner_id=v.owner_id,
            created_at=v.created_at,
        )


@router.post(
    "/files",
    status_code=201,
    response_model=FileOut,
    summary="Upload a file for a purpose (multipart: `purpose`, `file`); its type is read from its bytes",
)
def upload(
    purpose: PurposeName,
    file: Annotated[UploadFile, File(description="the file")],
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
) -> FileOut:
    limit = runtime.settings.max_upload_bytes
    data = file.file.read(limit + 1)
    if len(data) > limit:
        raise InvalidInput([FieldError("body.file", f"the file is larger than the {limit} bytes allowed")])
    with db.begin():
        view = service.upload(
            db,
            service.store_of(runtime.settings),
            platform=platform,
            owner_id=principal.user_id,
            owner_role=principal.role,
            purpose=purpose,
            name=file.filename,
            data=data,
            now=now,
        )
    return FileOut.of(view)


@router.get("/files", response_model=Page[FileOut], summary="My files")
def list_files(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    purpose: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z0-9_]{0,39}$")] = None,
) -> Page[FileOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_owned(
            db,
            platform_id=platform.id,
            owner_id=principal.user_id,
            after_id=after,
            limit=page.fetch,
            purpose=purpose,
        )
    return paginate(rows, page, key=lambda v: v.id, shape=FileOut.of)


def _readable(db: Db, platform_id: str, file_id: str, principal: Principal) -> FileView:
    with db.begin():
        return service.readable(
            db,
            platform_id=platform_id,
            file_id=file_id,
            user_id=principal.user_id,
            is_staff=principal.is_staff,
        )


@router.get("/files/{file_id}", response_model=FileOut, summary="A file I may read")
def get_file(file_id: FileId, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> FileOut:
    view = _readable(db, platform.id, file_id, principal)
    return FileOut.of(view)


@router.get(
    "/files/{file_id}/content",
    response_class=FileResponse,
    summary="Download a file I may read (always as an attachment, with its sniffed type)",
    responses={200: {"description": "the file's bytes", "content": {"*/*": {}}}},
)
def download(
    file_id: FileId, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, runtime: RuntimeDep
) -> FileResponse:
    view = _readable(db, platform.id, file_id, principal)
    path = service.store_of(runtime.settings).path(view.platform_id, view.sha256)
    return FileResponse(
        path,
        media_type=view.content_type,
        headers={
            "Content-Disposition": domain.content_disposition(view.name),
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'; sandbox",
            "Cache-Control": "private, no-store",
        },
    )
