"""How a resolution gives money back: refund methods, chosen per kind of claim in the settings.

`credit_back` is built in: a ledger posting from the account that received the money (the
platform's revenue or the provider's wallet, as the subject's facts say) to the payer's credit.
A frozen wallet or one that no longer holds the amount refuses it, and nothing of the answer is kept.

A refund to the payment card belongs to the payments module: once it exists it registers a method
(`register_refund_method("card", fn)`), and a pack switches a kind to it with
`"refund_method": "card"`. A method may complete at once (`done`) or later (`pending`, e.g. a card
refund confirmed by a webhook); the claim records its status and external reference either way.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.claims.subjects import SubjectFacts
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import Conflict, NotFound
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountFrozen, InsufficientFunds, Transfer


@dataclass(frozen=True)
class RefundRequest:
    platform_id: str
    claim_id: str
    claim_reference: str
    amount: Money
    facts: SubjectFacts
    rules: tuple[str, ...]
    idempotency_key: str  # unique per answer: a retry never refunds twice
    now: datetime
    actor: Actor


@dataclass(frozen=True)
class RefundResult:
    status: Literal["done", "pending"]
    external_ref: str  # the ledger transaction id, or the payment provider's refund id


RefundMethod = Callable[[Session, RefundRequest], RefundResult]

_METHODS: dict[str, RefundMethod] = {}
_LOCK = threading.Lock()


def register_refund_method(name: str, method: RefundMethod) -> None:
    with _LOCK:
        if _METHODS.get(name, method) is not method:
            raise ValueError(f"another refund method is registered as {name!r}")
        _METHODS[name] = method


RefundPolicy = Callable[[Session, str, SubjectFacts, str | None], Verdict]
"""(db, platform_id, the subject's facts, the claim's object) -> whether a refund may be granted."""

_POLICIES: dict[str, RefundPolicy] = {}


def register_refund_policy(name: str, policy: RefundPolicy) -> None:
    """A pack's rule on refunds of one kind of claim, picked by the kind's `refund_policy`."""
    with _LOCK:
        if _POLICIES.get(name, policy) is not policy:
            raise ValueError(f"another refund policy is registered as {name!r}")
        _POLICIES[name] = policy


def refund_policy(name: str) -> RefundPolicy:
    policy = _POLICIES.get(name)
    if policy is None:
        raise Conflict(
            f"the refund policy {name!r} is not available on this deployment",
            extra={"refund_policy": name, "available": sorted(_POLICIES)},
        )
    return policy


def refund_method(name: str) -> RefundMethod:
    method = _METHODS.get(name)
    if method is None:
        raise Conflict(
            f"the refund method {name!r} is not available on this deployment",
            extra={"refund_method": name, "available": sorted(_METHODS)},
        )
    return method


def credit_back(db: Session, request: RefundRequest) -> RefundResult:
    """Post the refund from the account that received the money to the payer's credit."""
    facts = request.facts
    if facts.received_by is None or facts.refund_to is None:
        raise Conflict("this subject does not say which accounts to credit back", rules=request.rules)
    try:
        source = ledger.get_account(db, platform_id=request.platform_id, account_id=facts.received_by)
    except NotFound:
        raise Conflict("the account that received the payment is unknown", rules=request.rules) from None
    owner = "the provider's wallet" if source.type.value == "provider_wallet" else "the platform's account"
    try:
        tx = ledger.post_transaction(
            db,
            platform_id=request.platform_id,
            transfers=[Transfer(facts.received_by, facts.refund_to, request.amount)],
            idempotency_key=request.idempotency_key,
            code="claim.refund",
            rules=request.rules,
            cause=("claim", request.claim_id),
            now=request.now,
            reason=f"claim {request.claim_reference}: credit back of {request.amount}",
            actor=request.actor,
        )
    except AccountFrozen as exc:
        raise Conflict(
            f"the refund cannot be taken from {owner}: it is frozen",
            rules=(*request.rules, *exc.rules),
            extra={"account_id": facts.received_by},
        ) from None
    except InsufficientFunds as exc:
        raise Conflict(
            f"the refund cannot be taken from {owner}: it does not hold {request.amount}",
            rules=request.rules,
            extra={**exc.extra},
        ) from None
    return RefundResult("done", tx.id)


register_refund_method("credit_back", credit_back)


def method_names() -> Sequence[str]:
    return sorted(_METHODS)
