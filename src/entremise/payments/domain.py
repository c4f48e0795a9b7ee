"""Pure payment rules: where an operation stands, which event may move it, and the chargeback
policy (CONSULT-CHARGEBACK-1). No database, network or clock."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from entremise.kernel.decision import Verdict
from entremise.kernel.errors import FieldError
from entremise.payments.port import EventType, OperationStatus

# Where a payment stands; an event moves it only to a higher rank (an older event arriving late
# never moves it backwards; a final state never changes).
RANK = {
    "pending": 0,
    "action_required": 1,
    "authorized": 2,
    "capturing": 3,
    "cancelling": 3,
    "succeeded": 4,
    "captured": 4,
    "failed": 4,
    "cancelled": 4,
    "expired": 4,
}
SUCCESS = frozenset({"succeeded", "captured"})
FAILURE = frozenset({"failed", "cancelled", "expired"})

PAYMENT_EVENTS: dict[EventType, str] = {
    EventType.PAYIN_SUCCEEDED: "succeeded",
    EventType.PAYIN_FAILED: "failed",
    EventType.PREAUTH_SUCCEEDED: "authorized",
    EventType.PREAUTH_FAILED: "failed",
    EventType.PREAUTH_CAPTURED: "captured",
    EventType.PREAUTH_CANCELLED: "cancelled",
    EventType.PREAUTH_EXPIRED: "expired",
    EventType.DEBIT_SUCCEEDED: "succeeded",
    EventType.DEBIT_FAILED: "failed",
}
REFUND_EVENTS = {EventType.REFUND_SUCCEEDED: "succeeded", EventType.REFUND_FAILED: "failed"}
MANDATE_EVENTS = {EventType.MANDATE_ACTIVE: "active", EventType.MANDATE_FAILED: "failed"}
CHARGEBACK_EVENTS = frozenset(
    {EventType.CHARGEBACK_OPENED, EventType.CHARGEBACK_WON, EventType.CHARGEBACK_LOST}
)


def moves_forward(current: str, target: str) -> bool:
    """Whether an event reporting `target` may move a payment standing at `current`."""
    return RANK[target] > RANK[current]


def immediate_status(status: OperationStatus, kind: str) -> str:
    """A payment's state from the provider's immediate answer."""
    if status is OperationStatus.ACTION_REQUIRED:
        return "action_required"
    if status is OperationStatus.SUCCEEDED:
        return "authorized" if kind == "preauth" else "succeeded"
    if status is OperationStatus.FAILED:
        return "failed"
    if status is OperationStatus.CANCELLED:
        return "cancelled"
    return "pending"


def chargeback_verdict(
    *,
    paid_at: datetime,
    opened_at: datetime,
    reason: str,
    window_days: int,
    reasons: Sequence[str],
    rules: Sequence[str],
) -> Verdict:
    """CONSULT-CHARGEBACK-1: a card payment may be contested within the window (70 days), only for
    an accepted reason (fraud). Accepted: allowed; otherwise the platform contests it."""
    rule_ids = tuple(rules)
    if opened_at - paid_at > timedelta(days=window_days):
        days = (opened_at - paid_at).days
        return Verdict.refuse(
            *rule_ids, reason=f"opened {days} days after the payment, outside the {window_days}-day window"
        )
    if reason not in reasons:
        return Verdict.refuse(
            *rule_ids,
            reason=f"the reason {reason!r} is not one the terms accept ({', '.join(reasons) or 'none'})",
        )
    return Verdict.allow(*rule_ids, reason=f"inside the {window_days}-day window, for {reason}")


def request_hash(payload: dict[str, Any]) -> str:
    """What makes two requests with one idempotency key the same request."""
    text = json.dumps(payload, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


def check_key(key: object, field: str = "idempotency_key") -> list[FieldError]:
    if not isinstance(key, str) or not 1 <= len(key) <= 200 or not key.isprintable():
        return [FieldError(field, "an idempotency key is 1 to 200 printable characters")]
    return []


def check_text(value: object, field: str, max_length: int, *, required: bool = True) -> list[FieldError]:
    if not isinstance(value, str):
        return [FieldError(field, "must be text")]
    if required and not value.strip():
        return [FieldError(field, "must not be empty")]
    if len(value) > max_length or "\x00" in value:
        return [FieldError(field, f"at most {max_length} characters, without NUL")]
    return []


def check_url(value: object, field: str = "return_url") -> list[FieldError]:
    if (
        not isinstance(value, str)
        or len(value) > 500
        or not (value.startswith("https://") or value.startswith("http://") or value.startswith("/"))
    ):
        return [FieldError(field, "an http(s) URL or an absolute path, at most 500 characters")]
    if any(c.isspace() for c in value):
        return [FieldError(field, "a URL has no spaces")]
    return []
