"""`Idempotency-Key` on every POST: a retried request gets the first answer instead of running twice.

A client that may retry a POST (after a timeout, a dropped connection) sends a key of its choice,
1 to 200 visible ASCII characters, usually a UUID:

- first time: the request runs; its answer is stored with the key when its status is below 500
  (except 429, and except answers marked `Cache-Control: no-store`, such as those carrying a
  session token); a 5xx, 429 or no-store answer frees the key so a retry runs again;
- same key, same request (method, path, query and body): the stored answer is replayed, with the
  header `Idempotent-Replayed: true`, and nothing runs;
- same key, different request: 422 naming `header.Idempotency-Key`;
- same key while the first request still runs: 409, retry later.

Keys are scoped by the platform of the path, the caller (a SHA-256 of its `Authorization`
header, else of its `Cookie` header, else "anonymous") and the key itself, and kept 24 hours.

Two simultaneous requests with the same key cannot both run: the "running" row is inserted first,
in its own committed transaction, under a unique constraint; the loser sees it and answers 409.
A running row whose server died is abandoned after `RUNNING_LEASE`, then the key can run again.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import anyio
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from entremise.api.models import IdempotencyKey
from entremise.api.problems import send_problem

HEADER = b"idempotency-key"
FIELD = "header.Idempotency-Key"
REPLAYED_HEADER = b"idempotent-replayed"
METHODS = frozenset({"POST"})
TTL = timedelta(hours=24)
RUNNING_LEASE = timedelta(minutes=10)
STORED_HEADERS = frozenset({b"content-type", b"location", b"content-language"})

_VALID_KEY = re.compile(r"^[\x21-\x7e]{1,200}$")
_PLATFORM_PATH = re.compile(r"^/api/v1/platforms/([a-z][a-z0-9-]{1,39})(?:/|$)")


# ---------------------------------------------------------------------------------------------
# storage


@dataclass(frozen=True)
class Proceed:
    row_id: int


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True)
class Mismatch:
    pass


@dataclass(frozen=True)
class Running:
    pass


Claim = Proceed | Replay | Mismatch | Running


def claim(
    sessions: sessionmaker[Session],
    *,
    platform_scope: str,
    principal: str,
    key: str,
    request_hash: str,
    now: datetime,
) -> Claim:
    """Take the key for this request, or say why not. Commits its own transaction."""
    where = (
        IdempotencyKey.platform_scope == platform_scope,
        IdempotencyKey.principal == principal,
        IdempotencyKey.key == key,
    )
    for _attempt in range(3):
        try:
            with sessions() as db, db.begin():
                row = db.scalar(select(IdempotencyKey).where(*where).with_for_update())
                if row is not None and row.expires_at > now:
                    if row.request_hash != request_hash:
                        return Mismatch()
                    if row.state != "done" or row.status_code is None:
                        return Running()
                    return Replay(row.status_code, dict(row.headers), row.body or b"")
                if row is not None:  # expired: forget it
                    db.delete(row)
                    db.flush()
                fresh = IdempotencyKey(
                    platform_scope=platform_scope,
                    principal=principal,
                    key=key,
                    request_hash=request_hash,
                    state="running",
                    status_code=None,
                    headers={},
                    body=None,
                    created_at=now,
                    expires_at=now + RUNNING_LEASE,
                )
                db.add(fresh)
                db.flush()
                return Proceed(fresh.id)
        except IntegrityError:
            continue  # a concurrent request inserted the same key first: read what it wrote
    return Running()


def complete(
    sessions: sessionmaker[Session],
    row_id: int,
    *,
    status: int,
    headers: dict[str, str],
    body: bytes,
    now: datetime,
) -> None:
    with sessions() as db, db.begin():
        row = db.get(IdempotencyKey, row_id)
        if row is None:
            return
        row.state = "done"
        row.status_code = status
        row.headers = headers
        row.body = body
        row.expires_at = now + TTL


def release(sessions: sessionmaker[Session], row_id: int) -> None:
    with sessions() as db, db.begin():
        db.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row_id))


def purge_expired(db: Session, now: datetime) -> int:
    """Delete expired keys (in the caller's transaction); returns how many."""
    result = db.execute(delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now))
    return int(getattr(result, "rowcount", 0) or 0)


# ---------------------------------------------------------------------------------------------
# the middleware


def request_hash(method: str, path: str, query: bytes, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), query, body):
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def principal_of(scope: Scope) -> str:
    headers = dict(scope.get("headers", []))
    for name in (b"authorization", b"cookie"):
        if headers.get(name):
            return hashlib.sha256(name + b":" + headers[name]).hexdigest()
    return "anonymous"


def platform_scope_of(path: str) -> str:
    match = _PLATFORM_PATH.match(path)
    return match.group(1) if match else "-"


def _header_values(scope: Scope, name: bytes) -> list[bytes]:
    return [v for k, v in scope.get("headers", []) if k == name]


def _no_store(headers: list[tuple[bytes, bytes]]) -> bool:
    return any(k.lower() == b"cache-control" and b"no-store" in v.lower() for k, v in headers)


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in METHODS:
            await self.app(scope, receive, send)
            return
        values = _header_values(scope, HEADER)
        if not values:
            await self.app(scope, receive, send)
            return
        key = values[0].decode("latin-1")
        if len(values) > 1 or not _VALID_KEY.match(key):
            reason = (
                "send the header once"
                if len(values) > 1
                else "must be 1 to 200 visible ASCII characters (a UUID is a good choice)"
            )
            await send_problem(
                scope, send, 422, f"{FIELD}: {reason}", errors=[{"field": FIELD, "reason": reason}]
            )
            return

        body, tail = await _read_body(receive)
        runtime = scope["app"].state.runtime
        sessions = runtime.sessions
        path = scope["path"]
        outcome = await run_in_threadpool(
            claim,
            sessions,
            platform_scope=platform_scope_of(path),
            principal=principal_of(scope),
            key=key,
            request_hash=request_hash(scope["method"], path, scope.get("query_string", b""), body),
            now=runtime.clock.now(),
        )
        if isinstance(outcome, Replay):
            await _send_replay(send, outcome)
            return
        if isinstance(outcome, Mismatch):
            reason = "this key was already used for a different request"
            await send_problem(
                scope, send, 422, f"{FIELD}: {reason}", errors=[{"field": FIELD, "reason": reason}]
            )
            return
        if isinstance(outcome, Running):
            await send_problem(
                scope,
                send,
                409,
                "a request with this Idempotency-Key is still running; retry later",
                headers={"Retry-After": "1"},
            )
            return

        captured: dict[str, Any] = {"status": 500, "headers": [], "body": bytearray()}

        async def capturing_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                captured["status"] = message["status"]
                captured["headers"] = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                captured["body"] += message.get("body", b"")
            await send(message)

        try:
            await self.app(scope, _replaying_receive(body, tail, receive), capturing_send)
        except BaseException:
            with anyio.CancelScope(shield=True):
                await run_in_threadpool(release, sessions, outcome.row_id)
            raise
        status: int = captured["status"]
        with anyio.CancelScope(shield=True):
            if status >= 500 or status == 429 or _no_store(captured["headers"]):
                await run_in_threadpool(release, sessions, outcome.row_id)
            else:
                stored = {
                    k.decode("latin-1").lower(): v.decode("latin-1")
                    for k, v in captured["headers"]
                    if k.lower() in STORED_HEADERS
                }
                await run_in_threadpool(
                    complete,
                    sessions,
                    outcome.row_id,
                    status=status,
                    headers=stored,
                    body=bytes(captured["body"]),
                    now=runtime.clock.now(),
                )


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole request body, and a disconnect message if one arrived instead of the end."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"".join(chunks), message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replaying_receive(body: bytes, tail: Message | None, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        if tail is not None:
            return tail
        return await receive()

    return replay


async def _send_replay(send: Send, replay: Replay) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in replay.headers.items()]
    headers += [
        (b"content-length", str(len(replay.body)).encode()),
        (REPLAYED_HEADER, b"true"),
    ]
    await send({"type": "http.response.start", "status": replay.status, "headers": headers})
    await send({"type": "http.response.body", "body": replay.body})
