"""Helpers for payments tests: a paying client, card pay-ins through the HTTP app, webhook delivery
by the sandbox's worker job through the real ASGI app, balances."""

from __future__ import annotations

import uuid
from datetime import timedelta

from accounts_helpers import auth, staff_token, url, user_session
from money_helpers import balance

from entremise.ledger.domain import AccountType
from entremise.payments import sandbox
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

RETURN_URL = "https://shop.example/return"


def key() -> dict[str, str]:
    return {"Idempotency-Key": uuid.uuid4().hex}


class Payer:
    def __init__(self, client, platform: PlatformView) -> None:  # type: ignore[no-untyped-def]
        self.client = client
        self.platform = platform
        self.id, self.email, token = user_session(client, platform)
        self.headers = auth(token)

    def pay(
        self,
        card: str,
        cents: int = 2000,
        *,
        headers: dict[str, str] | None = None,
        path: str = "/me/card-payins",
        **extra,
    ):  # type: ignore[no-untyped-def]
        body = {"amount": cents, "card": {"token": card}, "return_url": RETURN_URL, **extra}
        return self.client.post(
            url(self.platform, path), json=body, headers={**self.headers, **(headers or key())}
        )

    def payment(self, payment_id: str):  # type: ignore[no-untyped-def]
        r = self.client.get(url(self.platform, f"/me/payments/{payment_id}"), headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()

    def credit(self, runtime: Runtime) -> int:
        return balance(runtime, self.platform, AccountType.CLIENT_CREDIT, self.id)[0]


def staff_headers(client, runtime: Runtime, platform: PlatformView) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return auth(staff_token(client, runtime, platform))


def deliver(runtime: Runtime, client, platform: PlatformView | None = None, **kwargs) -> int:  # type: ignore[no-untyped-def]
    """Run the sandbox's webhook job now, delivering through the real app (the due webhooks of
    `platform` only, when given: tests share one database)."""
    return sandbox.deliver_due(
        runtime, runtime.clock.now(), http=client, platform_id=platform.id if platform else None, **kwargs
    )


def platform_with(runtime: Runtime, payments: dict) -> PlatformView:  # type: ignore[type-arg]
    with runtime.sessions() as db, db.begin():
        slug = f"pay-{uuid.uuid4().hex[:12]}"
        return platforms.create_platform(
            db, slug=slug, name=slug, now=runtime.clock.now(), settings={"payments": payments}
        )


def advance(runtime: Runtime, **delta: float) -> None:
    runtime.clock.advance(timedelta(**delta))  # type: ignore[attr-defined]


def clearing(runtime: Runtime, platform: PlatformView) -> int:
    return balance(runtime, platform, AccountType.PSP_CLEARING, None, "sandbox")[0]


def losses(runtime: Runtime, platform: PlatformView) -> int:
    return balance(runtime, platform, AccountType.PLATFORM_FEES, None, "chargeback-losses")[0]
