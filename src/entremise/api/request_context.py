"""The outermost middleware: request id, one log line per request, NUL guard, last-resort 500.

- `X-Request-Id`: echoed when the client sends a sensible one (1-128 of `A-Z a-z 0-9 . _ : -`),
  generated otherwise; returned on every answer, put in problem documents and bound to every log
  event of the request (structlog context variables).
- One `request` log event per request: method, path, status, duration_ms, request_id.
- A NUL character in the path or in the query string is refused with 422 (PostgreSQL cannot
  store it, and no route has a use for it).
- An exception no handler turned into an answer becomes a 500 problem document; the trace goes
  to the log only.
"""

from __future__ import annotations

import re
import time
import uuid
from urllib.parse import parse_qsl

import structlog
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entremise.api.problems import send_problem

log = structlog.get_logger("entremise.api")

REQUEST_ID_HEADER = b"x-request-id"
_VALID_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,128}$")


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _VALID_ID.match(value):
            return str(value.decode("ascii"))
    return uuid.uuid4().hex


def _nul_fields(scope: Scope) -> list[dict[str, str]]:
    reason = "must not contain NUL characters"
    fields: list[dict[str, str]] = []
    if "\x00" in scope.get("path", ""):
        fields.append({"field": "path", "reason": reason})
    query = scope.get("query_string", b"")
    if b"%00" in query.lower() or b"\x00" in query:
        pairs = parse_qsl(query.decode("latin-1"), keep_blank_values=True)
        names = sorted({name for name, value in pairs if "\x00" in name or "\x00" in value})
        fields += [{"field": f"query.{name}", "reason": reason} for name in names] or [
            {"field": "query", "reason": reason}
        ]
    return fields


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        response_started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, response_started
            if message["type"] == "http.response.start":
                response_started = True
                status = message["status"]
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != REQUEST_ID_HEADER]
                headers.append((REQUEST_ID_HEADER, request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        with structlog.contextvars.bound_contextvars(request_id=request_id):
            try:
                bad = _nul_fields(scope)
                if bad:
                    detail = "; ".join(f"{f['field']}: {f['reason']}" for f in bad)
                    await send_problem(scope, send_with_id, 422, detail, errors=bad)
                else:
                    await self.app(scope, receive, send_with_id)
            except Exception:
                log.exception(
                    "unhandled_error",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    request_id=request_id,
                )
                if response_started:
                    raise  # too late for a problem document: let the server close the connection
                await send_problem(
                    scope, send_with_id, 500, "an unexpected error occurred; it has been logged"
                )
            finally:
                log.info(
                    "request",
                    method=scope.get("method"),
                    path=scope.get("path"),
                    status=status,
                    duration_ms=round((time.perf_counter() - started) * 1000, 2),
                    request_id=request_id,
                )
