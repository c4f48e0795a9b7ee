"""Demo data of a pack: a few providers and clients, their week, their offers, some credit.

`load(db, platform, spec, now)` is idempotent per e-mail: loading twice finds the accounts made the
first time and creates nothing new. Every demo account has the password `DEMO_PASSWORD`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.orders import service as orders
from entremise.platforms.service import PlatformView
from entremise.scheduling import service as scheduling

DEMO_PASSWORD = "demo-entremise-2026"  # noqa: S105 - the documented password of demo accounts
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


@dataclass(frozen=True)
class DemoProvider:
    email: str
    fields: dict[str, Any]
    per_minute_rate: int
    packages: Sequence[tuple[int, int]] = ()
    hours: tuple[tuple[int, int], ...] = ((9 * 60, 12 * 60), (14 * 60, 18 * 60))
    offers: Sequence[tuple[str, str, int, int]] = ()  # title, description, price, delivery days
    gift_minutes: int = 0


@dataclass(frozen=True)
class DemoClient:
    email: str
    fields: dict[str, Any]
    credit: int = 0  # minor units put on the client's credit


@dataclass(frozen=True)
class DemoSpec:
    providers: Sequence[DemoProvider]
    clients: Sequence[DemoClient]
    credit_rules: tuple[str, ...] = ()
    settings: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoResult:
    created: list[str]  # e-mails of the accounts created now
    existing: list[str]  # e-mails found from an earlier load


def _user(
    db: Session, platform: PlatformView, role: str, email: str, fields: dict[str, Any], now: datetime
) -> tuple[str, bool]:
    found = accounts.find_by_identifier(db, platform=platform, identifier=email)
    if found is not None:
        return found.id, False
    user = accounts.register(
        db,
        platform=platform,
        role=role,
        email=email,
        password=DEMO_PASSWORD,
        fields=fields,
        meta=accounts.RequestMeta(ip="demo"),
        now=now,
        created_by=Actor.system(),
        must_change_password=False,
    )
    return user.id, True


def load(db: Session, platform: PlatformView, spec: DemoSpec, now: datetime) -> DemoResult:
    created: list[str] = []
    existing: list[str] = []
    for p in spec.providers:
        provider_id, new = _user(db, platform, "provider", p.email, p.fields, now)
        (created if new else existing).append(p.email)
        if not new:
            continue
        scheduling.set_schedule(
            db,
            platform=platform,
            provider_id=provider_id,
            weekly={d: list(p.hours) for d in WEEKDAYS},
            buffer_before_minutes=0,
            buffer_after_minutes=5,
            min_notice_minutes=None,
            per_minute_rate=p.per_minute_rate,
            packages=list(p.packages),
            now=now,
        )
        for title, description, price, days in p.offers:
            orders.publish_offer(
                db,
                platform=platform,
                provider_id=provider_id,
                title=title,
                description=description,
                price=price,
                delivery_days=days,
                now=now,
            )
    for c in spec.clients:
        client_id, new = _user(db, platform, "client", c.email, c.fields, now)
        (created if new else existing).append(c.email)
        if new and c.credit:
            _credit(db, platform, client_id, Money(c.credit), spec.credit_rules, now)
    return DemoResult(created, existing)


def _credit(
    db: Session, platform: PlatformView, client_id: str, amount: Money, rules: Sequence[str], now: datetime
) -> None:
    """Demo credit, as if the client had bought a credit pack (from the promotions account)."""
    source = ledger.get_or_open_account(db, platform_id=platform.id, type=AccountType.PROMOTIONS, now=now)
    target = ledger.get_or_open_account(
        db, platform_id=platform.id, type=AccountType.CLIENT_CREDIT, now=now, owner_id=client_id
    )
    ledger.post_transaction(
        db,
        platform_id=platform.id,
        transfers=[Transfer(source.id, target.id, amount)],
        idempotency_key=f"demo-credit:{platform.id}:{client_id}",
        code="demo.credit",
        rules=list(rules) or ["CONSULT-CREDIT-1"],
        cause=("demo", client_id),
        now=now,
        reason="demo credit",
    )
