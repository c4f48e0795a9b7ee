"""Liveness and readiness."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from sqlalchemy import text

from entremise.api.deps import RuntimeDep
from entremise.db import migrate

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: database reachable and migrations current",
    responses={503: {"description": "Not ready: database unreachable or migrations pending"}},
)
def readyz(runtime: RuntimeDep) -> JSONResponse:
    try:
        with runtime.engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        current = migrate.is_current(runtime.engine)
    except Exception as exc:  # the database is down: not ready, say why without a trace
        return JSONResponse(
            {"status": "unavailable", "database": "unreachable", "error": type(exc).__name__}, 503
        )
    if not current:
        return JSONResponse({"status": "unavailable", "database": "ok", "migrations": "pending"}, 503)
    return JSONResponse({"status": "ok", "database": "ok", "migrations": "current"})
