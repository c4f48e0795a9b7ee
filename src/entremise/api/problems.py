"""RFC 9457 problem documents for every error; no stack trace ever reaches a client."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from entremise.kernel.errors import AppError, InvalidInput

log = logging.getLogger("entremise.api")

PROBLEM_JSON = "application/problem+json"


def problem(status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any) -> JSONResponse:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    headers = extra.pop("headers", None)
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(_request: Request, exc: AppError) -> JSONResponse:
        extra: dict[str, Any] = dict(exc.extra)
        if exc.rules:
            extra["rules"] = list(exc.rules)
        if isinstance(exc, InvalidInput):
            extra["errors"] = [e.as_dict() for e in exc.errors]
        return problem(exc.status, exc.title, exc.detail, exc.type_, headers=exc.headers or None, **extra)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return problem(
                400,
                "Malformed JSON",
                "the request body is not valid JSON",
                "https://entremise.dev/problems/malformed-json",
            )
        fields = [
            {"field": _field_path(e.get("loc", ())), "reason": str(e.get("msg", "invalid"))} for e in errors
        ]
        detail = "; ".join(f"{f['field']}: {f['reason']}" for f in fields)
        return problem(
            422, "Invalid input", detail, "https://entremise.dev/problems/invalid-input", errors=fields
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        titles = {
            404: "Not found",
            405: "Method not allowed",
            413: "Payload too large",
            401: "Authentication required",
        }
        return problem(
            exc.status_code,
            titles.get(exc.status_code, "Error"),
            str(exc.detail),
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged")
