"""The sandbox payment provider: behaves like a real one, without the network.

It ships with the engine and is the default provider (development, tests, demos). It keeps its
own records in the engine's database (`psp_sandbox_*` tables: the merchant account and its webhook
secret per platform, the operations, the webhooks to send) and answers like a real provider:
a call returns at once with a reference and `pending` (or `action_required` with the 3-D Secure
page), and the outcome follows as a signed webhook, delivered over HTTP to the engine's route
`POST /api/v1/psp/webhooks/sandbox` by the worker job `psp-sandbox-webhooks`.

What each test card, IBAN and KYC document does is in `payments.testdata`. Timing: outcomes are
due `webhook_delay_seconds` after the call; the chargebacks of the "charged back later" cards are
due days later (`chargeback_after_days`, or the card's own figure), so a test that advances the
clock and runs the job sees them. Each delivery is signed at its sending time and carries its
attempt number, so a duplicate is a new, validly signed request about the same event id.

For tests of the receiver, `resend` delivers an event again and `reschedule` moves an event's
delivery (to make a later event overtake it); `deliver_twice` in the settings sends every event
twice.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from entremise.kernel import signing
from entremise.kernel.backoff import exponential_backoff
from entremise.kernel.errors import Conflict, NotFound
from entremise.kernel.money import Money
from entremise.payments import testdata
from entremise.payments.models import SandboxAccount, SandboxEvent, SandboxOperation
from entremise.payments.port import (
    CardDetails,
    EventType,
    KycDocumentType,
    Operation,
    OperationStatus,
    ProviderEvent,
    WebhookRejected,
)
from entremise.payments.providers import ProviderContext, register_adapter
from entremise.payments.settings import SandboxSettings
from entremise.platforms import service as platforms
from entremise.runtime import Runtime

NAME = "sandbox"
WEBHOOK_PATH = "/api/v1/psp/webhooks/sandbox"
THREE_DS_PATH = "/sandbox/psp/3ds/{ref}"
MAX_ATTEMPTS = 12
LEASE = timedelta(seconds=60)


def _ref(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def webhook_secret(db: Session, platform_id: str, now: datetime) -> str:
    """The platform's sandbox webhook secret (created on first use)."""
    row = db.get(SandboxAccount, platform_id)
    if row is None:
        row = SandboxAccount(platform_id=platform_id, webhook_secret=secrets.token_hex(32), created_at=now)
        db.add(row)
        db.flush()
    return row.webhook_secret


def _settings(db: Session, platform_id: str) -> SandboxSettings:
    return platforms.get(db, platform_id).settings.payments.sandbox


class SandboxProvider:
    name = NAME

    def __init__(self, context: ProviderContext) -> None:
        self.db = context.db
        self.now = context.now
        self.platform_id = context.platform_id

    # --- helpers --------------------------------------------------------------------------------

    def _platform(self) -> str:
        if self.platform_id is None:
            raise ValueError("the sandbox needs a platform for this call")
        return self.platform_id

    def _existing(self, kind: str, key: str) -> SandboxOperation | None:
        return self.db.scalars(
            select(SandboxOperation).where(
                SandboxOperation.platform_id == self._platform(),
                SandboxOperation.kind == kind,
                SandboxOperation.idempotency_key == key,
            )
        ).first()

    def _new(self, kind: str, key: str, status: str, **fields: Any) -> SandboxOperation:
        webhook_secret(self.db, self._platform(), self.now)
        op = SandboxOperation(
            ref=_ref({"payin": "pay", "preauth": "pre", "debit": "dd"}.get(kind, kind)),
            platform_id=self._platform(),
            kind=kind,
            idempotency_key=key,
            status=status,
            captured=0,
            refunded=0,
            data={},
            created_at=self.now,
            updated_at=self.now,
            **fields,
        )
        self.db.add(op)
        self.db.flush()
        return op

    def _op(self, ref: str, kinds: Sequence[str]) -> SandboxOperation:
        op = self.db.get(SandboxOperation, ref)
        if op is None or op.platform_id != self._platform() or op.kind not in kinds:
            raise NotFound(f"the sandbox knows no such operation {ref}")
        return op

    def _settings(self) -> SandboxSettings:
        return _settings(self.db, self._platform())

    def _due(self) -> datetime:
        return self.now + timedelta(seconds=self._settings().webhook_delay_seconds)

    def _answer(self, op: SandboxOperation, *, status: OperationStatus | None = None) -> Operation:
        if status is None:
            status = (
                OperationStatus.ACTION_REQUIRED if op.status == "action_required" else OperationStatus.PENDING
            )
        amount = Money(op.amount, op.currency) if op.amount is not None and op.currency else None
        raw: dict[str, Any] = {"sandbox_status": op.status}
        if op.kind in ("payin", "preauth"):
            raw["fingerprint"] = testdata.card_fingerprint(op.instrument)
        if op.kind in ("mandate", "payout"):
            raw["fingerprint"] = testdata.iban_fingerprint(op.instrument)
        return Operation(
            provider_ref=op.ref,
            status=status,
            amount=amount,
            redirect_url=op.data.get("redirect_url") if op.status == "action_required" else None,
            failure_reason=op.data.get("failure_reason"),
            raw=raw,
        )

    def _emit(
        self,
        op: SandboxOperation,
        type_: EventType,
        *,
        at: datetime | None = None,
        amount: int | None = None,
        reason: str | None = None,
        related_ref: str | None = None,
        ref: str | None = None,
    ) -> SandboxEvent:
        return emit(
            self.db,
            platform_id=op.platform_id,
            type_=type_,
            provider_ref=ref or op.ref,
            occurred_at=at or self._due(),
            currency=op.currency,
            amount=amount,
            reason=reason,
            related_ref=related_ref,
            copies=2 if self._settings().deliver_twice else 1,
        )

    # --- cards ----------------------------------------------------------------------------------

    def create_card_payin(
        self,
        *,
        amount: Money,
        card: CardDetails,
        return_url: str,
        idempotency_key: str,
        statement_descriptor: str = "",
    ) -> Operation:
        return self._card("payin", amount, card, return_url, idempotency_key)

    def create_preauthorization(
        self, *, amount: Money, card: CardDetails, return_url: str, idempotency_key: str
    ) -> Operation:
        return self._card("preauth", amount, card, return_url, idempotency_key)

    def _card(self, kind: str, amount: Money, card: CardDetails, return_url: str, key: str) -> Operation:
        found = self._existing(kind, key)
        if found is not None:
            return self._answer(found)
        number = testdata.normalize_card(card.token)
        scenario = testdata.card_scenario(number)
        op = self._new(
            kind,
            key,
            "created",
            currency=amount.currency,
            amount=amount.amount,
            instrument=number,
            return_url=return_url,
        )
        if scenario.three_ds:
            op.status = "action_required"
            op.data = {"redirect_url": THREE_DS_PATH.format(ref=op.ref)}
        else:
            self._settle_card(op, approved=True)
        self.db.flush()
        return self._answer(op)

    def _settle_card(self, op: SandboxOperation, *, approved: bool) -> None:
        scenario = testdata.card_scenario(op.instrument)
        failure = scenario.declined
        if failure is None and scenario.three_ds and (scenario.three_ds_always_fails or not approved):
            failure = "3ds_failed"
        ok_type, failed_type = (
            (EventType.PAYIN_SUCCEEDED, EventType.PAYIN_FAILED)
            if op.kind == "payin"
            else (EventType.PREAUTH_SUCCEEDED, EventType.PREAUTH_FAILED)
        )
        data = dict(op.data)
        data.pop("redirect_url", None)
        if failure is not None:
            op.status = "failed"
            data["failure_reason"] = failure
            op.data = data
            self._emit(op, failed_type, reason=failure, amount=op.amount)
            return
        if op.kind == "payin":
            op.status = "succeeded"
            op.captured = op.amount or 0
            self._emit(op, ok_type, amount=op.amount)
            self._schedule_chargeback(op, op.captured)
        else:
            op.status = "authorized"
            self._emit(op, ok_type, amount=op.amount)
            validity = timedelta(days=self._settings().preauth_validity_days)
            expiry = self._emit(op, EventType.PREAUTH_EXPIRED, at=self.now + validity, amount=op.amount)
            data["expiry_event"] = expiry.id
        op.data = data
        op.updated_at = self.now

    def _schedule_chargeback(self, op: SandboxOperation, amount: int) -> None:
        scenario = testdata.card_scenario(op.instrument)
        if scenario.chargeback_reason is None or amount <= 0:
            return
        days = scenario.chargeback_after_days or self._settings().chargeback_after_days
        chargeback = self._new(
            "chargeback",
            f"chargeback:{op.ref}",
            "opened",
            currency=op.currency,
            amount=amount,
            instrument=op.instrument,
            related_ref=op.ref,
        )
        self._emit(
            chargeback,
            EventType.CHARGEBACK_OPENED,
            at=self.now + timedelta(days=days),
            amount=amount,
            reason=scenario.chargeback_reason,
            related_ref=op.ref,
        )

    def complete_3ds(self, ref: str, *, approved: bool) -> SandboxOperation:
        op = self._op(ref, ("payin", "preauth"))
        if op.status != "action_required":
            raise Conflict("this 3-D Secure step is already complete")
        self._settle_card(op, approved=approved)
        return op

    def capture_preauthorization(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> Operation:
        found = self._existing("capture", idempotency_key)
        if found is not None:
            return self._answer(found)
        pre = self._op(provider_ref, ("preauth",))
        if pre.status != "authorized" or pre.currency != amount.currency or amount.amount > (pre.amount or 0):
            op = self._new(
                "capture",
                idempotency_key,
                "failed",
                currency=amount.currency,
                amount=amount.amount,
                related_ref=pre.ref,
            )
            op.data = {"failure_reason": "not_capturable"}
            return self._answer(op, status=OperationStatus.FAILED)
        op = self._new(
            "capture",
            idempotency_key,
            "succeeded",
            currency=amount.currency,
            amount=amount.amount,
            related_ref=pre.ref,
        )
        pre.status = "captured"
        pre.captured = amount.amount
        pre.updated_at = self.now
        self._drop_expiry(pre)
        self._emit(pre, EventType.PREAUTH_CAPTURED, amount=amount.amount)
        self._schedule_chargeback(pre, amount.amount)
        return self._answer(op)

    def cancel_preauthorization(self, *, provider_ref: str, idempotency_key: str) -> Operation:
        found = self._existing("cancel", idempotency_key)
        if found is not None:
            return self._answer(found)
        pre = self._op(provider_ref, ("preauth",))
        if pre.status not in ("authorized", "action_required"):
            op = self._new("cancel", idempotency_key, "failed", related_ref=pre.ref)
            op.data = {"failure_reason": "not_cancellable"}
            return self._answer(op, status=OperationStatus.FAILED)
        op = self._new("cancel", idempotency_key, "succeeded", related_ref=pre.ref)
        pre.status = "cancelled"
        pre.updated_at = self.now
        self._drop_expiry(pre)
        self._emit(pre, EventType.PREAUTH_CANCELLED, amount=pre.amount)
        return self._answer(op)

    def _drop_expiry(self, pre: SandboxOperation) -> None:
        event_id = pre.data.get("expiry_event")
        if event_id:
            self.db.execute(
                update(SandboxEvent)
                .where(SandboxEvent.id == event_id, SandboxEvent.delivered_at.is_(None))
                .values(delivered_at=self.now, copies=0, last_error="not sent: the pre-authorisation ended")
            )

    def refund(self, *, payin_ref: str, amount: Money, idempotency_key: str) -> Operation:
        found = self._existing("refund", idempotency_key)
        if found is not None:
            return self._answer(found)
        paid = self._op(payin_ref, ("payin", "preauth"))
        op = self._new(
            "refund",
            idempotency_key,
            "created",
            currency=amount.currency,
            amount=amount.amount,
            related_ref=paid.ref,
            instrument=paid.instrument,
        )
        remaining = paid.captured - paid.refunded
        if paid.currency != amount.currency or amount.amount <= 0 or amount.amount > remaining:
            op.status = "failed"
            op.data = {"failure_reason": "exceeds_captured_amount"}
            self._emit(
                op,
                EventType.REFUND_FAILED,
                amount=amount.amount,
                reason="exceeds_captured_amount",
                related_ref=paid.ref,
            )
        else:
            op.status = "succeeded"
            paid.refunded += amount.amount
            self._emit(op, EventType.REFUND_SUCCEEDED, amount=amount.amount, related_ref=paid.ref)
        return self._answer(op)

    # --- chargebacks ----------------------------------------------------------------------------

    def accept_chargeback(self, *, chargeback_ref: str, idempotency_key: str) -> Operation:
        op = self._op(chargeback_ref, ("chargeback",))
        if op.status == "opened":
            op.status = "accepted"
            op.updated_at = self.now
        return self._answer(op)

    def contest_chargeback(self, *, chargeback_ref: str, evidence: str, idempotency_key: str) -> Operation:
        op = self._op(chargeback_ref, ("chargeback",))
        if op.status == "opened":
            op.status = "contested"
            op.updated_at = self.now
            won = testdata.card_scenario(op.instrument).contest_won
            self._emit(
                op,
                EventType.CHARGEBACK_WON if won else EventType.CHARGEBACK_LOST,
                amount=op.amount,
                related_ref=op.related_ref,
            )
        return self._answer(op)

    # --- SEPA direct debit ----------------------------------------------------------------------

    def create_mandate(
        self, *, iban: str, holder_name: str, return_url: str, idempotency_key: str
    ) -> Operation:
        found = self._existing("mandate", idempotency_key)
        if found is not None:
            return self._answer(found)
        value = testdata.normalize_iban(iban)
        op = self._new("mandate", idempotency_key, "created", instrument=value, return_url=return_url)
        failure = testdata.mandate_failure_reason(value)
        if failure:
            op.status = "failed"
            op.data = {"failure_reason": failure}
            self._emit(op, EventType.MANDATE_FAILED, reason=failure)
        else:
            op.status = "active"
            self._emit(op, EventType.MANDATE_ACTIVE)
        return self._answer(op)

    def create_direct_debit(self, *, mandate_ref: str, amount: Money, idempotency_key: str) -> Operation:
        found = self._existing("debit", idempotency_key)
        if found is not None:
            return self._answer(found)
        mandate = self._op(mandate_ref, ("mandate",))
        op = self._new(
            "debit",
            idempotency_key,
            "created",
            currency=amount.currency,
            amount=amount.amount,
            instrument=mandate.instrument,
            related_ref=mandate.ref,
        )
        failure = (
            "mandate_not_active"
            if mandate.status != "active"
            else testdata.debit_failure_reason(mandate.instrument)
        )
        if failure:
            op.status = "failed"
            op.data = {"failure_reason": failure}
            self._emit(op, EventType.DEBIT_FAILED, amount=amount.amount, reason=failure)
        else:
            op.status = "succeeded"
            op.captured = amount.amount
            self._emit(op, EventType.DEBIT_SUCCEEDED, amount=amount.amount)
        return self._answer(op)

    # --- payouts and KYC ------------------------------------------------------------------------

    def create_payout(
        self, *, amount: Money, iban: str, holder_name: str, reference: str, idempotency_key: str
    ) -> Operation:
        found = self._existing("payout", idempotency_key)
        if found is not None:
            return self._answer(found)
        value = testdata.normalize_iban(iban)
        op = self._new(
            "payout",
            idempotency_key,
            "created",
            currency=amount.currency,
            amount=amount.amount,
            instrument=value,
        )
        failure = testdata.payout_bounce_reason(value)
        if failure:
            op.status = "failed"
            op.data = {"failure_reason": failure, "reference": reference}
            self._emit(op, EventType.PAYOUT_FAILED, amount=amount.amount, reason=failure)
        else:
            op.status = "succeeded"
            op.data = {"reference": reference}
            self._emit(op, EventType.PAYOUT_SUCCEEDED, amount=amount.amount)
        return self._answer(op)

    def submit_kyc_document(
        self,
        *,
        user_ref: str,
        document_type: KycDocumentType,
        content: bytes,
        content_type: str,
        idempotency_key: str,
    ) -> Operation:
        found = self._existing("kyc", idempotency_key)
        if found is not None:
            return self._answer(found)
        op = self._new("kyc", idempotency_key, "created", related_ref=user_ref)
        failure = testdata.kyc_refusal_reason(content)
        op.data = {"document_type": document_type.value, "content_type": content_type, "size": len(content)}
        if failure:
            op.status = "refused"
            op.data = {**op.data, "failure_reason": failure}
            self._emit(op, EventType.KYC_REFUSED, reason=failure, related_ref=user_ref)
        else:
            op.status = "validated"
            self._emit(op, EventType.KYC_VALIDATED, related_ref=user_ref)
        return self._answer(op)

    # --- webhooks -------------------------------------------------------------------------------

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str], now: datetime) -> list[ProviderEvent]:
        try:
            payload = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            raise WebhookRejected("the body is not JSON") from None
        if not isinstance(payload, dict) or not isinstance(payload.get("account"), str):
            raise WebhookRejected("the body names no sandbox account")
        account = self.db.get(SandboxAccount, payload["account"][:36])
        if account is None:
            raise WebhookRejected("the body names an unknown sandbox account")
        header = next((v for k, v in headers.items() if k.lower() == signing.HEADER.lower()), None)
        try:
            signing.verify(account.webhook_secret, header, body, now)
        except signing.SignatureError as exc:
            raise WebhookRejected(exc.reason) from None
        try:
            data = payload["data"]
            amount = (
                Money(int(data["amount"]), str(data["currency"])) if data.get("amount") is not None else None
            )
            return [
                ProviderEvent(
                    event_id=str(payload["id"]),
                    type=EventType(payload["type"]),
                    provider_ref=str(data["ref"]),
                    occurred_at=datetime.fromisoformat(payload["created"]),
                    amount=amount,
                    reason=data.get("reason"),
                    related_ref=data.get("related_ref"),
                    data={"account": payload["account"]},
                )
            ]
        except (KeyError, TypeError, ValueError):
            raise WebhookRejected("the body is not a sandbox event") from None


def _factory(context: ProviderContext) -> SandboxProvider:
    return SandboxProvider(context)


register_adapter(NAME, _factory)


# --- the sandbox's outgoing webhooks -----------------------------------------------------------


def emit(
    db: Session,
    *,
    platform_id: str,
    type_: EventType,
    provider_ref: str,
    occurred_at: datetime,
    currency: str | None = None,
    amount: int | None = None,
    reason: str | None = None,
    related_ref: str | None = None,
    copies: int = 1,
) -> SandboxEvent:
    event = SandboxEvent(
        id=_ref("evt"),
        platform_id=platform_id,
        type=type_.value,
        provider_ref=provider_ref,
        related_ref=related_ref,
        currency=currency if amount is not None else None,
        amount=amount,
        reason=reason,
        data={},
        occurred_at=occurred_at,
        deliver_at=occurred_at,
        copies=copies,
        attempts=0,
    )
    db.add(event)
    db.flush()
    return event


def event_body(event: SandboxEvent, attempt: int) -> bytes:
    data: dict[str, Any] = {"ref": event.provider_ref}
    if event.amount is not None:
        data["amount"] = event.amount
        data["currency"] = event.currency
    if event.reason is not None:
        data["reason"] = event.reason
    if event.related_ref is not None:
        data["related_ref"] = event.related_ref
    payload = {
        "id": event.id,
        "type": event.type,
        "account": event.platform_id,
        "created": event.occurred_at.isoformat(),
        "delivery_attempt": attempt,
        "data": data,
    }
    return json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()


def events_of(db: Session, *, platform_id: str, provider_ref: str | None = None) -> list[SandboxEvent]:
    query = select(SandboxEvent).where(SandboxEvent.platform_id == platform_id)
    if provider_ref is not None:
        query = query.where(
            or_(SandboxEvent.provider_ref == provider_ref, SandboxEvent.related_ref == provider_ref)
        )
    return list(db.scalars(query.order_by(SandboxEvent.occurred_at, SandboxEvent.id)))


def resend(db: Session, *, event_id: str, at: datetime) -> None:
    """Deliver the event once more at `at` (a duplicate, on purpose)."""
    event = db.get(SandboxEvent, event_id)
    if event is None:
        raise NotFound(f"no sandbox event {event_id}")
    event.copies += 1
    event.delivered_at = None
    event.deliver_at = at


def reschedule(db: Session, *, event_id: str, deliver_at: datetime) -> None:
    """Move an undelivered event's delivery (so that a later event overtakes it, on purpose)."""
    event = db.get(SandboxEvent, event_id)
    if event is None or event.delivered_at is not None:
        raise NotFound(f"no undelivered sandbox event {event_id}")
    event.deliver_at = deliver_at


def complete_3ds(db: Session, *, ref: str, approved: bool, now: datetime) -> SandboxOperation:
    """The payer's answer on the 3-D Secure page."""
    op = db.get(SandboxOperation, ref)
    if op is None:
        raise NotFound("no such 3-D Secure step")
    return SandboxProvider(ProviderContext(db, now, op.platform_id)).complete_3ds(ref, approved=approved)


def operation(db: Session, ref: str) -> SandboxOperation | None:
    return db.get(SandboxOperation, ref)


def _claim(
    runtime: Runtime, now: datetime, limit: int, only: Sequence[str] | None, platform_id: str | None
) -> list[tuple[str, bytes, str]]:
    """Lease due events; (event id, body, signature header) for each one claimed."""
    claimed: list[tuple[str, bytes, str]] = []
    with runtime.sessions() as db, db.begin():
        query = select(SandboxEvent.id).where(
            SandboxEvent.delivered_at.is_(None),
            or_(SandboxEvent.locked_until.is_(None), SandboxEvent.locked_until < now),
        )
        if platform_id is not None:
            query = query.where(SandboxEvent.platform_id == platform_id)
        if only is not None:
            query = query.where(SandboxEvent.id.in_(list(only)))
        else:
            query = query.where(SandboxEvent.deliver_at <= now)
        ids = list(db.scalars(query.order_by(SandboxEvent.deliver_at, SandboxEvent.id).limit(limit)))
        if only is not None:
            ids.sort(key=list(only).index)
        for event_id in ids:
            taken = db.execute(
                update(SandboxEvent)
                .where(
                    SandboxEvent.id == event_id,
                    SandboxEvent.delivered_at.is_(None),
                    or_(SandboxEvent.locked_until.is_(None), SandboxEvent.locked_until < now),
                )
                .values(locked_until=now + LEASE)
            )
            if taken.rowcount != 1:  # type: ignore[attr-defined]
                continue
            event = db.get(SandboxEvent, event_id)
            assert event is not None
            body = event_body(event, event.attempts + 1)
            header = signing.sign(webhook_secret(db, event.platform_id, now), body, now)
            claimed.append((event_id, body, header))
    return claimed


def deliver_due(
    runtime: Runtime,
    now: datetime,
    *,
    http: httpx.Client | None = None,
    only: Sequence[str] | None = None,
    platform_id: str | None = None,
    limit: int = 100,
) -> int:
    """Send the due webhooks (or exactly `only`, in that order; of one platform when given); the
    number delivered with a 2xx.

    `http` is the client the deliveries go through: by default one to the engine's own base URL
    (`ENTREMISE_BASE_URL`); tests pass the real app's TestClient."""
    client = http or httpx.Client(base_url=runtime.settings.base_url, timeout=10)
    delivered = 0
    try:
        for event_id, body, header in _claim(runtime, now, limit, only, platform_id):
            status: int | None = None
            error: str | None = None
            try:
                response = client.post(
                    WEBHOOK_PATH,
                    content=body,
                    headers={"Content-Type": "application/json", signing.HEADER: header},
                )
                status = response.status_code
                if not 200 <= status < 300:
                    error = response.text[:500]
            except httpx.HTTPError as exc:
                error = str(exc)[:500] or type(exc).__name__
            with runtime.sessions() as db, db.begin():
                event = db.get(SandboxEvent, event_id)
                assert event is not None
                event.attempts += 1
                event.last_status = status
                event.last_error = error
                event.locked_until = None
                if error is None:
                    delivered += 1
                    event.copies = max(0, event.copies - 1)
                    if event.copies == 0:
                        event.delivered_at = now
                elif event.attempts >= MAX_ATTEMPTS:
                    event.delivered_at = now
                    event.last_error = f"given up after {event.attempts} attempts: {error}"[:500]
                else:
                    event.deliver_at = now + exponential_backoff(
                        event.attempts, timedelta(seconds=30), timedelta(hours=6)
                    )
    finally:
        if http is None:
            client.close()
    return delivered


def deliver_job(runtime: Runtime, now: datetime) -> int:
    """The worker job `psp-sandbox-webhooks`."""
    return deliver_due(runtime, now)
