"""Who may review what: one eligibility policy per subject kind, registered by the module (or pack)
that owns the transactions of that kind.

    register_policy("consultation", my_policy)   # metering/packs: CONSULT-REVIEW-1's consultations

A policy is `fn(db, platform, transaction_id, author_id, now) -> Decision[Eligibility]`: it reads the
transaction through its owner's service functions and decides with a pure function (see
`reviews.domain.party_eligibility`), citing its rule IDs. Shipped here: `djob` (CONSULT-REVIEW-1:
a completed DJob, by its client, within 21 days) and `appointment` (EXPERT-RATING-1: clients rate
the provider of a completed appointment; the provider cannot oppose it), both parametrised by the
platform's `reviews` settings.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from datetime import datetime

from sqlalchemy.orm import Session

from entremise.kernel.decision import Decision
from entremise.kernel.errors import NotFound
from entremise.platforms.service import PlatformView
from entremise.reviews.domain import Eligibility, PartyFacts, party_eligibility

Policy = Callable[[Session, PlatformView, str, str, datetime], Decision[Eligibility]]
KIND = re.compile(r"^[a-z][a-z0-9_.-]{0,39}$")

POLICIES: dict[str, Policy] = {}
_lock = threading.Lock()


def register_policy(subject_kind: str, fn: Policy) -> None:
    """Make `subject_kind` reviewable under the policy `fn` (one policy per kind)."""
    if not KIND.match(subject_kind):
        raise ValueError(f"not a subject kind name: {subject_kind!r}")
    with _lock:
        if POLICIES.get(subject_kind, fn) is not fn:
            raise ValueError(f"another review policy is registered for {subject_kind!r}")
        POLICIES[subject_kind] = fn


def policy_for(subject_kind: str) -> Policy | None:
    return POLICIES.get(subject_kind)


def djob_policy(
    db: Session, platform: PlatformView, transaction_id: str, author_id: str, now: datetime
) -> Decision[Eligibility]:
    """CONSULT-REVIEW-1: the client of a completed DJob, within `djob_window_days` of its completion
    (the acceptance of its delivery, by the client or automatically)."""
    from entremise.orders import service as orders

    try:
        order = orders.get_order(db, platform_id=platform.id, order_id=transaction_id, user_id=author_id)
    except NotFound:
        facts = None
    else:
        accepted = [d.answered_at for d in order.deliveries if d.answer in ("accepted", "auto_accepted")]
        facts = PartyFacts(
            client_id=order.client_id,
            provider_id=order.provider_id,
            state=order.state,
            completed=order.state == "completed",
            completed_at=max((a for a in accepted if a is not None), default=None),
            offer_id=order.offer_id,
        )
    s = platform.settings.reviews
    return party_eligibility(
        facts,
        author_id=author_id,
        now=now,
        rule="CONSULT-REVIEW-1",
        what="DJob",
        window_days=s.djob_window_days,
        providers_review_clients=s.providers_review_clients,
    )


def appointment_policy(
    db: Session, platform: PlatformView, transaction_id: str, author_id: str, now: datetime
) -> Decision[Eligibility]:
    """EXPERT-RATING-1: the client of a completed appointment rates its provider, counted from the
    end of the appointment (`appointment_window_days`, no limit by default)."""
    from entremise.scheduling import service as scheduling

    try:
        appt = scheduling.get_appointment(
            db, platform_id=platform.id, appointment_id=transaction_id, user_id=author_id
        )
    except NotFound:
        facts = None
    else:
        facts = PartyFacts(
            client_id=appt.client_id,
            provider_id=appt.provider_id,
            state=appt.state,
            completed=appt.state == "completed",
            completed_at=appt.ends_at,
            offer_id=None,
        )
    s = platform.settings.reviews
    return party_eligibility(
        facts,
        author_id=author_id,
        now=now,
        rule="EXPERT-RATING-1",
        what="appointment",
        window_days=s.appointment_window_days,
        providers_review_clients=s.providers_review_clients,
    )


register_policy("djob", djob_policy)
register_policy("appointment", appointment_policy)
