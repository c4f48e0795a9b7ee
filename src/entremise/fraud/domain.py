"""Pure rules of fraud signals: what a shared identifier, a link to an account with a bad history or
a share of failed verifications means, as signals citing their rules. Nothing here decides a
sanction: a signal only opens (or adds to) a case that a person decides."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from entremise.kernel.decision import Decision

IDENTIFIER_KINDS = ("device", "phone", "payment_instrument", "bank_account")
INCIDENT_KINDS = ("chargeback", "refund_abuse", "unpaid_debt")
SIGNAL_KINDS = (
    "shared_device",
    "shared_phone",
    "shared_payment_instrument",
    "shared_bank_account",
    "linked_to_incident",
    "failed_verifications",
)
SHARED_RULES: Mapping[str, tuple[str, ...]] = {
    "device": ("COMMON-ACCOUNT-1", "CARPOOL-FRAUD-1"),
    "phone": ("COMMON-ACCOUNT-1",),
    "payment_instrument": ("COMMON-ACCOUNT-1",),
    "bank_account": ("COMMON-ACCOUNT-1",),
}
LINK_RULES = ("TEL-FRAUD-1",)
VERIFICATION_RULES = ("CARPOOL-FRAUD-1",)
DECISIONS = ("dismiss", "confirm")


@dataclass(frozen=True)
class Signal:
    kind: str
    user_ids: tuple[str, ...]
    key: str  # the same facts give the same key: a signal is raised once
    rules: tuple[str, ...]
    evidence: Mapping[str, Any] = field(default_factory=dict)


def normalise(kind: str, value: str) -> str:
    """An identifier as compared: phones and bank accounts without spaces, dots or dashes, upper case."""
    v = value.strip()
    if kind in ("phone", "bank_account", "payment_instrument"):
        v = re.sub(r"[\s.\-/()]", "", v).upper()
    return v


def digest(platform_id: str, kind: str, value: str) -> str:
    """What is kept of an identifier: a SHA-256 digest, never the value itself."""
    return hashlib.sha256(f"{platform_id}:{kind}:{normalise(kind, value)}".encode()).hexdigest()


def shared_identifier(
    kind: str, value_digest: str, user_ids: Sequence[str], *, seen_on: str
) -> Signal | None:
    """Several accounts share one device, phone, payment instrument or bank account (COMMON-ACCOUNT-1)."""
    users = tuple(sorted(set(user_ids)))
    if len(users) < 2:
        return None
    return Signal(
        f"shared_{kind}",
        users,
        f"shared:{kind}:{value_digest}:{','.join(users)}",
        SHARED_RULES[kind],
        {"identifier": kind, "digest": value_digest, "accounts": list(users), "seen_on": seen_on},
    )


def linked_to_incident(
    user_id: str, other_id: str, incident_id: str, incident_kind: str, reference: str, via: Sequence[str]
) -> Signal:
    """An account linked (by a shared identifier) to another that had a chargeback, refund abuse or an
    unpaid debt, even under another identity (TEL-FRAUD-1)."""
    return Signal(
        "linked_to_incident",
        tuple(sorted({user_id, other_id})),
        f"linked:{incident_id}:{user_id}",
        LINK_RULES,
        {
            "account": user_id,
            "linked_account": other_id,
            "incident": {"id": incident_id, "kind": incident_kind, "reference": reference},
            "linked_by": sorted(set(via)),
        },
    )


def failed_share(failed: int, total: int, *, percent: int, min_count: int) -> Decision[bool]:
    """CARPOOL-FRAUD-1: is the share of failed verifications abnormal (above the pack's threshold)?"""
    if total < min_count:
        return Decision(
            False, VERIFICATION_RULES, f"{total} verifications, fewer than the {min_count} needed to judge"
        )
    share = Decimal(failed * 100) / Decimal(total)
    if share > percent:
        return Decision(
            True,
            VERIFICATION_RULES,
            f"{failed} of {total} verifications failed ({share:.1f} % > {percent} %)",
        )
    return Decision(False, VERIFICATION_RULES, f"{failed} of {total} failed, within {percent} %")


def failed_verifications(
    user_id: str, failed: int, total: int, window_days: int, period: str, reason: str
) -> Signal:
    return Signal(
        "failed_verifications",
        (user_id,),
        f"failed:{user_id}:{period}",
        VERIFICATION_RULES,
        {"account": user_id, "failed": failed, "total": total, "window_days": window_days, "reason": reason},
    )
