"""FastAPI dependencies: the runtime, a database session, the platform of the path, the time."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated

from fastapi import Depends, Path, Request
from sqlalchemy.orm import Session

from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_db(runtime: Annotated[Runtime, Depends(get_runtime)]) -> Iterator[Session]:
    """A session; each service opens its own transaction on it (`with db.begin():`)."""
    with runtime.sessions() as session:
        yield session


def get_now(runtime: Annotated[Runtime, Depends(get_runtime)]) -> datetime:
    return runtime.clock.now()


PlatformSlug = Annotated[
    str,
    Path(min_length=2, max_length=40, pattern=r"^[a-z][a-z0-9-]{1,39}$", description="the platform's slug"),
]


def get_platform(platform: PlatformSlug, db: Annotated[Session, Depends(get_db)]) -> PlatformView:
    with db.begin():
        return platforms.get_by_slug(db, platform)


Db = Annotated[Session, Depends(get_db)]
Now = Annotated[datetime, Depends(get_now)]
CurrentPlatform = Annotated[PlatformView, Depends(get_platform)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
