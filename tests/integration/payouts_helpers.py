"""Helpers for KYC and payout tests: a recording payment provider behind the port (until the
sandbox lands), a provider with validated KYC, a funded wallet."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from accounts_helpers import auth, staff_token, url, user_session

from entremise.kernel.money import Money
from entremise.ledger.domain import AccountType
from entremise.payments.port import (
    EventType,
    KycDocumentType,
    Operation,
    OperationStatus,
    ProviderEvent,
)

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"
IBAN = "FR7630006000011234567890189"
IBAN2 = "DE89370400440532013000"
BIC = "BNPAFRPP"


@dataclass
class RecordingPsp:
    """Implements the port's payout and KYC calls: answers PENDING (the outcome comes by event),
    returns the first answer for a repeated idempotency key, and records every call."""

    name: str = "recording"
    payouts: dict[str, Operation] = field(default_factory=dict)
    payout_calls: list[dict[str, Any]] = field(default_factory=list)
    kyc: dict[str, Operation] = field(default_factory=dict)
    kyc_calls: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def create_payout(
        self, *, amount: Money, iban: str, holder_name: str, reference: str, idempotency_key: str
    ) -> Operation:
        with self.lock:
            if idempotency_key not in self.payouts:
                self.payout_calls.append({"amount": amount, "iban": iban, "key": idempotency_key})
                self.payouts[idempotency_key] = Operation(
                    f"po_{uuid.uuid4().hex[:12]}", OperationStatus.PENDING, amount
                )
            return self.payouts[idempotency_key]

    def submit_kyc_document(
        self,
        *,
        user_ref: str,
        document_type: KycDocumentType,
        content: bytes,
        content_type: str,
        idempotency_key: str,
    ) -> Operation:
        with self.lock:
            if idempotency_key not in self.kyc:
                self.kyc_calls.append({"type": document_type, "content": content, "key": idempotency_key})
                self.kyc[idempotency_key] = Operation(f"kyc_{uuid.uuid4().hex[:12]}", OperationStatus.PENDING)
            return self.kyc[idempotency_key]

    def parse_webhook(self, *, body: bytes, headers: Mapping[str, str], now: datetime) -> list[ProviderEvent]:
        raise NotImplementedError


def new_platform(runtime, settings=None):  # type: ignore[no-untyped-def]
    """A platform of its own (tests/conftest's make_platform, which a test module cannot import
    when run alone since tests/integration has a conftest of its own)."""
    from entremise.platforms import service as platforms

    slug = f"p-{uuid.uuid4().hex[:12]}"
    with runtime.sessions() as db, db.begin():
        return platforms.create_platform(
            db, slug=slug, name=slug.title(), now=runtime.clock.now(), settings=settings
        )


def event(type_: EventType, ref: str, at: datetime, reason: str | None = None) -> ProviderEvent:
    return ProviderEvent(f"evt_{uuid.uuid4().hex[:10]}", type_, ref, at, reason=reason)


def upload(client, platform, token, data=PNG, name="doc.png"):  # type: ignore[no-untyped-def]
    return client.post(
        url(platform, "/files"),
        data={"purpose": "kyc_document"},
        files={"file": (name, data, "application/octet-stream")},
        headers=auth(token),
    )


def declare(client, platform, token, type_, issued_on=None, data=PNG):  # type: ignore[no-untyped-def]
    r = upload(client, platform, token, data)
    assert r.status_code == 201, r.text
    body: dict[str, Any] = {"type": type_, "file_id": r.json()["id"]}
    if issued_on is not None:
        body["issued_on"] = issued_on.isoformat()
    return client.post(url(platform, "/kyc/documents"), json=body, headers=auth(token))


def provider(client, platform):  # type: ignore[no-untyped-def]
    user_id, _, token = user_session(client, platform, role="provider")
    return user_id, token


def validated_provider(client, runtime, platform, psp, staff=None):  # type: ignore[no-untyped-def]
    """A provider whose KYC is validated end to end (uploads, staff approval, PSP events)."""
    from entremise.kyc import service as kyc

    user_id, token = provider(client, platform)
    staff = staff or staff_token(client, runtime, platform)
    r = client.put(
        url(platform, "/kyc/bank-account"),
        json={"iban": IBAN, "bic": BIC, "holder_name": "Ada Martin"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    today: date = runtime.clock.now().date()
    for type_ in ("identity_proof", "address_proof", "bank_details"):
        r = declare(client, platform, token, type_, issued_on=today)
        assert r.status_code == 201, r.text
        doc_id = r.json()["id"]
        r = client.post(url(platform, f"/staff/kyc/documents/{doc_id}/approve"), headers=auth(staff))
        assert r.status_code == 200, r.text
    for ref in [op.provider_ref for op in list(psp.kyc.values())]:
        with runtime.sessions() as db, db.begin():
            kyc.handle_provider_event(
                db, psp.name, event(EventType.KYC_VALIDATED, ref, runtime.clock.now()), runtime.clock.now()
            )
    r = client.get(url(platform, "/kyc"), headers=auth(token))
    assert r.json()["validated"] is True, r.json()
    return user_id, token


def wallet(runtime, platform, user_id):  # type: ignore[no-untyped-def]
    from money_helpers import account

    return account(runtime, platform, AccountType.PROVIDER_WALLET, user_id)


def earn(runtime, platform, user_id, cents):  # type: ignore[no-untyped-def]
    from money_helpers import give

    give(runtime, platform, AccountType.PROVIDER_WALLET, user_id, cents, source=AccountType.PSP_CLEARING)
