"""Claim subjects the integration tests register, with real rows: a `test-service` process instance
(a consultation, a ride, a trip) paid through the ledger, and its facts for the claims module.

A subject's data holds the client, the provider, when it ended, what was paid and the ledger
accounts involved; `make_subject` opens the accounts, tops up the client's credit from the payment
provider's clearing account and pays the service from it, as a pack would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from accounts_helpers import auth, url, user_session

from entremise.booking import service as processes
from entremise.booking.process import ProcessDefinition, Transition
from entremise.booking.registry import REGISTRY
from entremise.booking.service import ProcessActor
from entremise.claims.subjects import SubjectFacts, register_subject
from entremise.kernel.errors import NotFound
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

SERVICE = REGISTRY.register(
    ProcessDefinition(
        name="test-service",
        version=1,
        states=("done", "archived"),
        initial="done",
        final=("archived",),
        transitions=(Transition("archive", ("done",), "archived", ("operator",)),),
        parties=(("client", "client_id"), ("provider", "provider_id")),
    )
)

SUBJECT_KINDS = ("test_consultation", "test_ride", "test_trip", "test_invoice")


def service_facts(db, platform_id: str, subject_id: str) -> SubjectFacts | None:
    try:
        view = processes.get_instance(db, platform_id, subject_id)
    except NotFound:
        return None
    if view.process != "test-service":
        return None
    d = view.data
    parties = {d["client_id"], *([d["provider_id"]] if d.get("provider_id") else []), *d.get("others", [])}
    return SubjectFacts(
        reference_at=datetime.fromisoformat(d["ended_at"]),
        parties=frozenset(parties),
        provider_id=d.get("provider_id"),
        paid=Money(d["paid"], d.get("currency", "EUR")) if d.get("paid") else None,
        received_by=d.get("received_by"),
        refund_to=d.get("refund_to"),
        payer_id=d["client_id"],
        label=f"service {subject_id[:8]}",
    )


for _kind in SUBJECT_KINDS:
    register_subject(_kind, service_facts)


@dataclass(frozen=True)
class Subject:
    id: str
    client_credit: str
    receiver: str
    paid: int


def make_subject(
    runtime: Runtime,
    platform: PlatformView,
    *,
    client_id: str,
    provider_id: str | None,
    ended_at: datetime,
    paid: int = 3000,
    to: str = "provider",
    others: tuple[str, ...] = (),
) -> Subject:
    """A service the client paid `paid` cents for, received by the provider's wallet or the platform."""
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        psp = ledger.get_or_open_account(db, platform_id=platform.id, type=AccountType.PSP_CLEARING, now=now)
        credit = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.CLIENT_CREDIT, owner_id=client_id, now=now
        )
        if to == "provider":
            assert provider_id is not None
            receiver = ledger.get_or_open_account(
                db, platform_id=platform.id, type=AccountType.PROVIDER_WALLET, owner_id=provider_id, now=now
            )
        else:
            receiver = ledger.get_or_open_account(
                db, platform_id=platform.id, type=AccountType.PLATFORM_REVENUE, now=now
            )
        view = processes.start(
            db,
            platform.id,
            "test-service",
            ProcessActor.system(),
            {
                "client_id": client_id,
                "provider_id": provider_id,
                "ended_at": ended_at.isoformat(),
                "paid": paid,
                "received_by": receiver.id,
                "refund_to": credit.id,
                "others": list(others),
            },
            now,
        )
        if paid:
            ledger.post_transaction(
                db,
                platform_id=platform.id,
                transfers=[
                    Transfer(psp.id, credit.id, Money(paid)),
                    Transfer(credit.id, receiver.id, Money(paid)),
                ],
                idempotency_key=f"test-service:{view.id}",
                code="test.paid",
                rules=[],
                cause=("test-service", view.id),
                now=now,
            )
    return Subject(view.id, credit.id, receiver.id, paid)


def balance(runtime: Runtime, platform: PlatformView, account_id: str) -> int:
    with runtime.sessions() as db, db.begin():
        return ledger.balance(db, platform_id=platform.id, account_id=account_id).total.amount


MEDIATOR = {
    "name": "Médiation Conso Exemple",
    "address": "3 place de la République, 67000 Strasbourg",
    "website": "https://mediation.example",
    "email": "saisine@mediation.example",
}


def settings_with(*kinds: tuple[str, dict], **extra) -> dict:
    claims = {"kinds": dict(kinds), "mediation": {"mediator": MEDIATOR}, **extra}
    return {"claims": claims}


@dataclass(frozen=True)
class Person:
    id: str
    email: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return auth(self.token)


def person(client, platform: PlatformView, role: str = "client") -> Person:
    uid, email, token = user_session(client, platform, role=role)
    return Person(uid, email, token)


def file(client, platform: PlatformView, who: Person, **body):
    return client.post(url(platform, "/claims"), json=body, headers=who.headers)
