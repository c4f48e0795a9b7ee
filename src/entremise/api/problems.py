"""RFC 9457 problem documents for every error; no stack trace ever reaches a client.

Every error answer of the API is `application/problem+json` with `type`, `title`, `status`,
`detail` and `instance` (the request path), plus `request_id` (the `X-Request-Id` of the request)
and, for invalid input, `errors`: one `{field, reason}` per invalid field, with dotted paths such as
`body.email`, `query.limit` or `header.Idempotency-Key`.

`document_problems(app)` makes the generated OpenAPI say so for every operation.
"""

from __future__ import annotations

import json
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import Scope, Send

from entremise.kernel.errors import AppError, InvalidInput

log = structlog.get_logger("entremise.api")

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://entremise.dev/problems/"

# status -> (type slug, title), for errors raised by the framework rather than by our code
_STANDARD: dict[int, tuple[str, str]] = {
    400: ("bad-request", "Bad request"),
    401: ("unauthorized", "Authentication required"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not found"),
    405: ("method-not-allowed", "Method not allowed"),
    409: ("conflict", "Conflict"),
    413: ("payload-too-large", "Payload too large"),
    415: ("unsupported-media-type", "Unsupported media type"),
    422: ("invalid-input", "Invalid input"),
    429: ("rate-limited", "Too many requests"),
    500: ("internal-error", "Internal error"),
}

# the error statuses every operation documents (RFC 9457 bodies)
DOCUMENTED: dict[int, str] = {
    400: "Malformed request (for example a body that is not JSON)",
    401: "Authentication required or failed",
    403: "Authenticated but not allowed",
    404: "No such resource (or route)",
    409: "Conflict with the current state (or the same Idempotency-Key still in progress)",
    413: "Request body too large",
    422: "Invalid input: every invalid field is named in `errors`",
    429: "Too many requests: retry after `Retry-After` seconds",
    500: "Unexpected error (logged with the request id; no details are given)",
}


def problem_body(
    status: int, title: str, detail: str, type_: str = "about:blank", **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {"type": type_, "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def _context(scope: Scope) -> dict[str, Any]:
    state = scope.get("state") or {}
    return {"instance": scope.get("path"), "request_id": state.get("request_id")}


def problem(
    status: int,
    title: str,
    detail: str,
    type_: str = "about:blank",
    *,
    request: Request | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    context = _context(request.scope) if request is not None else {}
    body = problem_body(status, title, detail, type_, **{**context, **extra})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def standard_problem(
    status: int, detail: str, *, request: Request | None = None, **extra: Any
) -> JSONResponse:
    slug, title = _STANDARD.get(status, ("error", "Error"))
    return problem(status, title, detail, PROBLEM_BASE + slug, request=request, **extra)


async def send_problem(
    scope: Scope, send: Send, status: int, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> None:
    """Answer with a problem document straight from an ASGI middleware."""
    slug, title = _STANDARD.get(status, ("error", "Error"))
    body = json.dumps(
        problem_body(status, title, detail, PROBLEM_BASE + slug, **{**_context(scope), **extra})
    ).encode()
    raw_headers = [
        (b"content-type", PROBLEM_JSON.encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    raw_headers += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw_headers})
    await send({"type": "http.response.body", "body": body})


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    return ".".join(str(p) for p in loc)


def _error_reason(error: Any) -> str:
    if tuple(error.get("loc", ())) == ("body",) and error.get("type") in (
        "model_attributes_type",
        "dict_type",
    ):
        return "must be a JSON object, sent with Content-Type: application/json"
    return str(error.get("msg", "invalid")).removeprefix("Value error, ")


_HTTP_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves on this path (Starlette names only the last route's)."""
    routes = request.app.router.routes
    return [
        method
        for method in _HTTP_METHODS
        if any(route.matches({**request.scope, "method": method})[0] == Match.FULL for route in routes)
    ]


def install(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def _app_error(request: Request, exc: AppError) -> JSONResponse:
        extra: dict[str, Any] = dict(exc.extra)
        if exc.rules:
            extra["rules"] = list(exc.rules)
        if isinstance(exc, InvalidInput):
            extra["errors"] = [e.as_dict() for e in exc.errors]
        return problem(
            exc.status,
            exc.title,
            exc.detail,
            exc.type_,
            request=request,
            headers=exc.headers or None,
            **extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            return standard_problem(400, "the request body is not valid JSON", request=request)
        fields = [{"field": field_path(e.get("loc", ())), "reason": _error_reason(e)} for e in errors]
        detail = "; ".join(f"{f['field']}: {f['reason']}" for f in fields)
        return standard_problem(422, detail, request=request, errors=fields)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        headers = dict(getattr(exc, "headers", None) or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        return standard_problem(exc.status_code, str(exc.detail), request=request, headers=headers or None)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Normally the request middleware answers first; this is the last line of defence.
        log.error("unhandled_error", method=request.method, path=request.url.path, exc_info=exc)
        return standard_problem(500, "an unexpected error occurred; it has been logged", request=request)


# ---------------------------------------------------------------------------------------------
# OpenAPI: every operation documents the problem answers it can give


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "description": "An RFC 9457 problem document.",
    "type": "object",
    "properties": {
        "type": {"type": "string", "description": "a URI naming the kind of problem"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "instance": {"type": "string", "description": "the request path"},
        "request_id": {"type": "string", "description": "the X-Request-Id of the request"},
        "errors": {
            "type": "array",
            "description": "for 422: every invalid field",
            "items": {"$ref": "#/components/schemas/FieldError"},
        },
        "rules": {"type": "array", "items": {"type": "string"}, "description": "rule IDs that decided"},
    },
    "required": ["type", "title", "status"],
    "additionalProperties": True,
}

FIELD_ERROR_SCHEMA: dict[str, Any] = {
    "title": "FieldError",
    "type": "object",
    "properties": {
        "field": {"type": "string", "description": "dotted path such as body.email or query.limit"},
        "reason": {"type": "string"},
    },
    "required": ["field", "reason"],
}

_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def add_problem_responses(schema: dict[str, Any]) -> dict[str, Any]:
    """Document the problem answers on every operation of an OpenAPI document (in place)."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components["Problem"] = PROBLEM_SCHEMA
    components["FieldError"] = FIELD_ERROR_SCHEMA
    problem_content = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in _METHODS:
                continue
            responses = operation.setdefault("responses", {})
            for status, description in DOCUMENTED.items():
                existing = responses.get(str(status))
                if existing and PROBLEM_JSON in existing.get("content", {}):
                    continue  # the route documented its own problem answer
                responses[str(status)] = {"description": description, "content": problem_content}
    # FastAPI's own validation error schemas are no longer referenced
    for unused in ("HTTPValidationError", "ValidationError"):
        if unused in components and unused not in json.dumps(schema["paths"]):
            del components[unused]
    return schema


def document_problems(app: FastAPI) -> None:
    """Make `app.openapi()` document the problem answers of every operation, present or later."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = add_problem_responses(schema)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
