"""What a claim is about: subjects registered by the modules that own them.

The module that owns a kind of subject (metering for consultations, booking for rides, billing for
invoices...) registers one function per subject kind, telling the claims module the facts it needs:

    from entremise.claims.subjects import SubjectFacts, register_subject

    def consultation_facts(db, platform_id, subject_id) -> SubjectFacts | None:
        ...  # None when there is no such consultation on this platform
    register_subject("consultation", consultation_facts)

The function runs in the caller's transaction and must only read. The subject kind is the key of
the platform's `claims.kinds` settings that picks its windows and deadlines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.kernel.money import Money


@dataclass(frozen=True)
class SubjectFacts:
    """The facts of one subject a claim may be about.

    - `reference_at`: the moment the filing window counts from (the end of the consultation, the
      ride's pickup, the day of the trip, the receipt of the invoice);
    - `parties`: the users who took part in it and may file a claim about it;
    - `provider_id`: the provider concerned (the respondent when the kind says `provider`, and the
      seller whose mediator applies where providers are the sellers);
    - `paid`: what the subject cost the payer (None: nothing was paid, nothing can be refunded);
    - `received_by`: the ledger account that received the money (the platform's revenue, or the
      provider's wallet): a credit back is taken from it;
    - `refund_to`: the payer's ledger account a credit back goes to (their client credit);
    - `payer_id`: who paid; `label`: a short description for messages ("Consultation du 3 décembre");
    - `duration_seconds`: how long a metered subject lasted (None: not metered).
    """

    reference_at: datetime
    parties: frozenset[str]
    provider_id: str | None = None
    paid: Money | None = None
    received_by: str | None = None
    refund_to: str | None = None
    payer_id: str | None = None
    label: str = ""
    duration_seconds: int | None = None  # how long a metered subject (a consultation) lasted

    def __post_init__(self) -> None:
        if self.reference_at.tzinfo is None:
            raise ValueError("reference_at must be an aware datetime")


SubjectLookup = Callable[[Session, str, str], SubjectFacts | None]
"""(db, platform_id, subject_id) -> the subject's facts, or None when it does not exist there."""

_LOOKUPS: dict[str, SubjectLookup] = {}
_LOCK = threading.Lock()


def register_subject(kind: str, lookup: SubjectLookup) -> None:
    """Register the function telling the facts of subjects of `kind` (once per kind)."""
    with _LOCK:
        if _LOOKUPS.get(kind, lookup) is not lookup:
            raise ValueError(f"another function is registered for the subject kind {kind!r}")
        _LOOKUPS[kind] = lookup


def lookup_for(kind: str) -> SubjectLookup | None:
    return _LOOKUPS.get(kind)


def registered_kinds() -> list[str]:
    return sorted(_LOOKUPS)
