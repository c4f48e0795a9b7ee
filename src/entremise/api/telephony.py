"""Webhooks of telephony/video providers: `POST /api/v1/telephony/webhooks/{provider}`.

The raw body is verified (signature and freshness, `kernel.signing`) before anything is read; a
forged or stale delivery gets 401 and changes nothing. Each event is applied once (a second
delivery of its id answers 200 with `duplicate: true`); an event for an unknown session is 404, a
new event for a finished session 409, in problem documents.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel

from entremise.api.deps import Db, Now, RuntimeDep
from entremise.kernel.errors import FieldError, InvalidInput, Unauthorized
from entremise.metering import service
from entremise.telephony import registry
from entremise.telephony.port import WebhookError

router = APIRouter(prefix="/api/v1/telephony", tags=["telephony"])

Provider = Annotated[str, Path(min_length=1, max_length=20, pattern=r"^[a-z][a-z0-9_-]*$")]


class EventResult(BaseModel):
    event_id: str
    session_id: str
    state: str
    duplicate: bool
    outcome: str


class WebhookOut(BaseModel):
    results: list[EventResult]


async def _raw_body(request: Request) -> bytes:
    return await request.body()


RawBody = Annotated[bytes, Depends(_raw_body)]


@router.post("/webhooks/{provider}", response_model=WebhookOut, summary="A provider's signed call events")
def webhook(
    provider: Provider, request: Request, body: RawBody, runtime: RuntimeDep, db: Db, now: Now
) -> WebhookOut:
    inbound = registry.inbound(provider, runtime.settings.secret_key)
    try:
        events = inbound.parse_webhook(dict(request.headers), body, now)
    except WebhookError as exc:
        if "signature" in exc.reason:
            raise Unauthorized(exc.reason) from exc
        raise InvalidInput([FieldError("body", exc.reason)]) from exc
    results: list[EventResult] = []
    with db.begin():
        for event in events:
            r = service.ingest(db, telephony_name=provider, event=event, now=now)
            results.append(
                EventResult(
                    event_id=event.id,
                    session_id=r.session_id,
                    state=r.state,
                    duplicate=r.duplicate,
                    outcome=r.outcome,
                )
            )
    return WebhookOut(results=results)
