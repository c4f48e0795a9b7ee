"""The sandbox telephony/video provider: a real provider of the port that places no real call.

It plays a **script** for each call (passed in `StartRequest.options["sandbox"]`, or the default):

- `answer_after` seconds of ringing, then `duration` seconds of conversation;
- `outcome`: `answer` (ends `completed`), `drop` (the line is cut: ends `dropped`), `no_answer`,
  `busy`, `fail`;
- `duplicate`: every webhook is sent twice (same event id); `reverse`: the webhooks are sent in
  the reverse order of the events (the end before the answer), with their true times inside;
- `record`: the call.ended event carries a recording reference (CONSULT-RECORD-1; off by default).

Its webhooks are rows (`SandboxWebhook`) due at the script's times, signed when sent
(`kernel.signing`) and posted by the worker job `telephony-webhooks` to
`POST /api/v1/telephony/webhooks/sandbox` (see `telephony.delivery`). Hanging up cancels the events
still to come and sends the end now.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from entremise.kernel import signing
from entremise.kernel.ids import new_id
from entremise.telephony.models import SandboxCall, SandboxWebhook
from entremise.telephony.port import (
    CallEvent,
    Connection,
    EndStatus,
    EventType,
    Mode,
    StartRequest,
    WebhookError,
)

NAME = "sandbox"
Outcome = Literal["answer", "drop", "no_answer", "busy", "fail"]
OUTCOMES: tuple[str, ...] = ("answer", "drop", "no_answer", "busy", "fail")
MAX_SECONDS = 24 * 3600
MAX_BODY = 64 * 1024


def webhook_secret(secret_key: str, provider: str = NAME) -> str:
    """The secret a provider signs its webhooks with, derived from the engine's secret key."""
    return hmac.new(secret_key.encode(), f"telephony-webhook:{provider}".encode(), hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Script:
    answer_after: int = 5
    duration: int = 300
    outcome: Outcome = "answer"
    duplicate: bool = False
    reverse: bool = False
    record: bool = False

    @staticmethod
    def parse(raw: Mapping[str, Any] | None) -> Script:
        """A script from JSON; ValueError naming the field when a value is wrong."""
        raw = dict(raw or {})
        unknown = set(raw) - {"answer_after", "duration", "outcome", "duplicate", "reverse", "record"}
        if unknown:
            raise ValueError(f"{sorted(unknown)[0]}: unknown script field")
        for name in ("answer_after", "duration"):
            if name in raw:
                v = raw[name]
                if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= MAX_SECONDS:
                    raise ValueError(f"{name}: whole seconds between 0 and {MAX_SECONDS}")
        for name in ("duplicate", "reverse", "record"):
            if name in raw and not isinstance(raw[name], bool):
                raise ValueError(f"{name}: true or false")
        if "outcome" in raw and raw["outcome"] not in OUTCOMES:
            raise ValueError(f"outcome: one of {', '.join(OUTCOMES)}")
        return Script(**raw)


def planned_events(
    reference: str, mode: Mode, script: Script, started_at: datetime
) -> list[tuple[datetime, dict[str, Any]]]:
    """The events a script produces, with the time each happens (pure)."""
    answered = started_at + timedelta(seconds=script.answer_after)
    ended = answered + timedelta(seconds=script.duration)

    def ev(kind: EventType, at: datetime, **extra: Any) -> tuple[datetime, dict[str, Any]]:
        body = {
            "id": f"evt_{new_id()}",
            "type": kind.value,
            "reference": reference,
            "occurred_at": at.isoformat(),
        }
        body.update({k: v for k, v in extra.items() if v is not None})
        return at, body

    recording = f"rec_{reference}" if script.record else None
    if script.outcome in ("no_answer", "busy", "fail"):
        status = {"no_answer": EndStatus.NO_ANSWER, "busy": EndStatus.BUSY, "fail": EndStatus.FAILED}[
            script.outcome
        ]
        if mode is Mode.VIDEO:
            # nobody but the client shows up in the room, then the room closes
            return [
                ev(EventType.PARTICIPANT_JOINED, started_at, role="client"),
                ev(EventType.PARTICIPANT_LEFT, answered, role="client"),
            ]
        return [ev(EventType.CALL_ENDED, answered, end_status=status.value)]
    end_status = EndStatus.DROPPED if script.outcome == "drop" else EndStatus.COMPLETED
    if mode is Mode.VIDEO:
        return [
            ev(EventType.PARTICIPANT_JOINED, started_at, role="client"),
            ev(EventType.PARTICIPANT_JOINED, answered, role="provider"),
            ev(EventType.PARTICIPANT_LEFT, ended, role="provider"),
            ev(EventType.PARTICIPANT_LEFT, ended, role="client"),
        ]
    return [
        ev(EventType.CALL_ANSWERED, answered),
        ev(EventType.CALL_ENDED, ended, end_status=end_status.value, recording_ref=recording),
    ]


class SandboxTelephony:
    """The sandbox provider, writing its calls and webhooks through `db` (the caller's transaction)."""

    name = NAME

    def __init__(self, db: Session | None, secret: str) -> None:
        self.db = db
        self.secret = secret

    def _db(self) -> Session:
        if self.db is None:
            raise RuntimeError("this sandbox instance only parses webhooks")
        return self.db

    def start(self, request: StartRequest, now: datetime) -> Connection:
        db = self._db()
        key = request.idempotency_key or f"start:{request.session_id}"
        existing = db.scalar(select(SandboxCall).where(SandboxCall.idempotency_key == key))
        if existing is not None:
            return self._connection(existing)
        script = Script.parse(request.options.get("sandbox") if request.options else None)
        row = SandboxCall(
            reference=f"sbx_{new_id()}",
            idempotency_key=key,
            session_id=request.session_id,
            mode=request.mode.value,
            script=asdict(script),
            state="placed",
            started_at=now,
        )
        db.add(row)
        events = planned_events(row.reference, request.mode, script, now)
        if script.reverse:
            times = [at for at, _ in events]
            events = [(t, body) for t, (_, body) in zip(times, reversed(events), strict=True)]
        for at, body in events:
            for _ in range(2 if script.duplicate else 1):
                self._queue(db, row.reference, body, at)
        db.flush()
        return self._connection(row)

    @staticmethod
    def _connection(row: SandboxCall) -> Connection:
        if row.mode == Mode.VIDEO.value:
            return Connection(
                row.reference,
                {
                    role: f"https://sandbox.invalid/rooms/{row.reference}?as={role}"
                    for role in ("client", "provider")
                },
            )
        return Connection(row.reference)

    @staticmethod
    def _queue(db: Session, reference: str, body: dict[str, Any], at: datetime) -> None:
        db.add(
            SandboxWebhook(
                reference=reference,
                event_id=str(body["id"]),
                body=json.dumps(body, separators=(",", ":")),
                due_at=at,
                status="pending",
                attempts=0,
            )
        )

    def hang_up(self, reference: str, now: datetime) -> None:
        db = self._db()
        row = db.get(SandboxCall, reference)
        if row is None or row.state == "hung_up":
            return
        row.state = "hung_up"
        db.execute(
            update(SandboxWebhook)
            .where(
                SandboxWebhook.reference == reference,
                SandboxWebhook.status == "pending",
                SandboxWebhook.due_at > now,
            )
            .values(status="cancelled", done_at=now)
            .execution_options(synchronize_session=False)
        )
        kind = EventType.PARTICIPANT_LEFT if row.mode == Mode.VIDEO.value else EventType.CALL_ENDED
        body: dict[str, Any] = {
            "id": f"evt_{new_id()}",
            "type": kind.value,
            "reference": reference,
            "occurred_at": now.isoformat(),
        }
        if kind is EventType.CALL_ENDED:
            body["end_status"] = EndStatus.COMPLETED.value
        else:
            body["role"] = "provider"
        self._queue(db, reference, body, now)
        db.flush()

    def parse_webhook(self, headers: Mapping[str, str], body: bytes, now: datetime) -> list[CallEvent]:
        if len(body) > MAX_BODY:
            raise WebhookError("the body is too large")
        header = next((v for k, v in headers.items() if k.lower() == signing.HEADER.lower()), None)
        try:
            signing.verify(self.secret, header, body, now)
        except signing.SignatureError as exc:
            raise WebhookError(exc.reason) from exc
        return [parse_event(body)]


def parse_event(body: bytes) -> CallEvent:
    try:
        raw = json.loads(body)
    except ValueError as exc:
        raise WebhookError("the body is not JSON") from exc
    if not isinstance(raw, dict):
        raise WebhookError("the body is not a JSON object")
    try:
        kind = EventType(str(raw.get("type")))
        event_id, reference = raw["id"], raw["reference"]
        if not isinstance(event_id, str) or not isinstance(reference, str) or not event_id or not reference:
            raise WebhookError("id and reference are strings")
        if len(event_id) > 60 or len(reference) > 40:
            raise WebhookError("id or reference too long")
        occurred_at = datetime.fromisoformat(str(raw["occurred_at"]))
        if occurred_at.tzinfo is None:
            raise WebhookError("occurred_at needs a time zone")
        status = EndStatus(raw["end_status"]) if kind is EventType.CALL_ENDED else None
        role = raw.get("role")
        if kind in (EventType.PARTICIPANT_JOINED, EventType.PARTICIPANT_LEFT) and role not in (
            "client",
            "provider",
        ):
            raise WebhookError("role: client or provider")
        recording = raw.get("recording_ref")
        if recording is not None and (not isinstance(recording, str) or len(recording) > 100):
            raise WebhookError("recording_ref: a short string")
    except WebhookError:
        raise
    except (KeyError, ValueError, TypeError) as exc:
        raise WebhookError(f"the event is malformed ({exc.__class__.__name__})") from exc
    return CallEvent(
        id=event_id,
        type=kind,
        reference=reference,
        occurred_at=occurred_at,
        role=role if isinstance(role, str) else None,
        end_status=status,
        recording_ref=recording,
    )
