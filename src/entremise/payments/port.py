"""The payment provider port: what the engine asks of a payment service provider (PSP).

Shaped so that Mangopay, Lemonway, Adyen for Platforms or Stripe Connect adapters can implement
it. Every call is synchronous and returns the provider's reference and its *immediate* status;
final outcomes (a pay-in succeeded, a payout bounced, a chargeback arrived, a KYC document was
validated) come later as signed webhooks, which `parse_webhook` verifies and turns into
`ProviderEvent`s. The engine posts to the ledger only on a confirmed outcome.

Every call carries an `idempotency_key`: the same key sent twice must return the first answer,
never a second operation at the provider.

This module is pure: data types and the protocol, no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from entremise.kernel.money import Money


class OperationStatus(StrEnum):
    """Where an operation stands at the provider."""

    PENDING = "pending"  # accepted, the outcome comes by webhook
    ACTION_REQUIRED = "action_required"  # the payer must act (3-D Secure): see `redirect_url`
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


class EventType(StrEnum):
    """What a provider's webhook reports."""

    PAYIN_SUCCEEDED = "payin.succeeded"
    PAYIN_FAILED = "payin.failed"
    PREAUTH_SUCCEEDED = "preauth.succeeded"
    PREAUTH_FAILED = "preauth.failed"
    PREAUTH_CAPTURED = "preauth.captured"
    PREAUTH_CANCELLED = "preauth.cancelled"
    PREAUTH_EXPIRED = "preauth.expired"
    REFUND_SUCCEEDED = "refund.succeeded"
    REFUND_FAILED = "refund.failed"
    CHARGEBACK_OPENED = "chargeback.opened"
    CHARGEBACK_WON = "chargeback.won"  # the contest succeeded: the money comes back
    CHARGEBACK_LOST = "chargeback.lost"
    MANDATE_ACTIVE = "mandate.active"
    MANDATE_FAILED = "mandate.failed"
    DEBIT_SUCCEEDED = "debit.succeeded"
    DEBIT_FAILED = "debit.failed"
    PAYOUT_SUCCEEDED = "payout.succeeded"
    PAYOUT_FAILED = "payout.failed"  # bounced: the money comes back to the wallet
    KYC_VALIDATED = "kyc.validated"
    KYC_REFUSED = "kyc.refused"


class KycDocumentType(StrEnum):
    IDENTITY_PROOF = "identity_proof"
    ADDRESS_PROOF = "address_proof"
    BANK_DETAILS = "bank_details"  # IBAN/BIC statement
    REGISTRATION_PROOF = "registration_proof"  # registry extract or sole-trader certificate
    ARTICLES_OF_ASSOCIATION = "articles_of_association"


@dataclass(frozen=True)
class CardDetails:
    """A card as the payer's browser tokenises it. The sandbox reads the test number; a real
    adapter receives a provider token instead and never sees the number."""

    token: str  # provider token, or the sandbox's test card number
    holder_name: str = ""


@dataclass(frozen=True)
class Operation:
    """The provider's immediate answer to a call."""

    provider_ref: str
    status: OperationStatus
    amount: Money | None = None
    redirect_url: str | None = None  # 3-D Secure step when status is ACTION_REQUIRED
    failure_reason: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProviderEvent:
    """One verified webhook: `event_id` is unique at the provider (used to drop duplicates),
    `provider_ref` names the operation it is about, `occurred_at` orders events that arrive out of
    order."""

    event_id: str
    type: EventType
    provider_ref: str
    occurred_at: datetime
    amount: Money | None = None
    reason: str | None = None  # failure, chargeback or refusal reason as the provider states it
    related_ref: str | None = None  # e.g. the pay-in a chargeback or refund is about
    data: Mapping[str, Any] = field(default_factory=dict)


class WebhookRejected(ValueError):
    """A webhook whose signature, timestamp or body is not acceptable: forged, replayed, stale."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PaymentProvider(Protocol):
    """What a payment service provider adapter implements."""

    name: str

    # Card pay-ins, with a 3-D Secure step when the provider asks for one.
    def create_card_payin(
        self,
        *,
        amount: Money,
        card: CardDetails,
        return_url: str,
        idempotency_key: str,
        statement_descriptor: str = "",
    ) -> Operation: ...

    # Pre-authorisation: reserve on the card, capture part or all, or cancel.
    def create_preauthorization(
        self, *, amount: Money, card: CardDetails, return_url: str, idempotency_key: str
    ) -> Operation: ...

    def capture_preauthorization(
        self, *, provider_ref: str, amount: Money, idempotency_key: str
    ) -> Operation: ...

    def cancel_preauthorization(self, *, provider_ref: str, idempotency_key: str) -> Operation: ...

    # Refunds of a pay-in (or a captured pre-authorisation), full or partial.
    def refund(self, *, payin_ref: str, amount: Money, idempotency_key: str) -> Operation: ...

    # SEPA direct debit: a mandate signed once, then debits against it.
    def create_mandate(
        self, *, iban: str, holder_name: str, return_url: str, idempotency_key: str
    ) -> Operation: ...

    def create_direct_debit(self, *, mandate_ref: str, amount: Money, idempotency_key: str) -> Operation: ...

    # Payouts from a provider's wallet to their bank account.
    def create_payout(
        self, *, amount: Money, iban: str, holder_name: str, reference: str, idempotency_key: str
    ) -> Operation: ...

    # KYC: documents sent to the provider, validated or refused by webhook.
    def submit_kyc_document(
        self,
        *,
        user_ref: str,
        document_type: KycDocumentType,
        content: bytes,
        content_type: str,
        idempotency_key: str,
    ) -> Operation: ...

    # Chargebacks: once a chargeback is opened, the platform accepts it or contests it; a contest
    # ends with a `chargeback.won` or `chargeback.lost` webhook.
    def accept_chargeback(self, *, chargeback_ref: str, idempotency_key: str) -> Operation: ...

    def contest_chargeback(
        self, *, chargeback_ref: str, evidence: str, idempotency_key: str
    ) -> Operation: ...

    # Incoming webhooks: verify signature and freshness of the raw body, parse the events.
    def parse_webhook(
        self, *, body: bytes, headers: Mapping[str, str], now: datetime
    ) -> list[ProviderEvent]: ...
