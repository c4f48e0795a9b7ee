"""Pure rules of reviews: who may review a transaction and until when, the checks of a rating and
its text, and the aggregates' arithmetic. No database, no clock: the service passes facts in."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from entremise.kernel.decision import Decision
from entremise.kernel.errors import FieldError

RATINGS = (1, 2, 3, 4, 5)
STATUSES = ("held", "blind", "published", "restricted", "removed")
VISIBLE = "published"


@dataclass(frozen=True)
class Eligibility:
    """What an eligibility policy concluded about one author and one transaction.

    `found` is False when there is no such transaction or the author is no party to it (the API
    answers 404 then, never revealing someone else's transaction); `allowed` False otherwise means
    a refusal with reasons (409). When allowed: who is reviewed, the offer (if any), the author's
    side, when the transaction completed and until when its reviews are accepted (None: no limit)."""

    allowed: bool
    found: bool = True
    reviewee_id: str | None = None
    offer_id: str | None = None
    author_role: str | None = None
    completed_at: datetime | None = None
    window_ends_at: datetime | None = None

    @staticmethod
    def missing() -> Eligibility:
        return Eligibility(False, found=False)

    @staticmethod
    def refused() -> Eligibility:
        return Eligibility(False)


@dataclass(frozen=True)
class PartyFacts:
    """The facts of a two-party transaction a policy needs (read by the policy from its module)."""

    client_id: str
    provider_id: str
    state: str
    completed: bool  # in its final "completed" state
    completed_at: datetime | None
    offer_id: str | None = None
    extra: Mapping[str, object] = field(default_factory=dict)


def party_eligibility(
    facts: PartyFacts | None,
    *,
    author_id: str,
    now: datetime,
    rule: str,
    what: str,
    window_days: int | None,
    providers_review_clients: bool,
) -> Decision[Eligibility]:
    """A party of a completed transaction reviews the other party, within `window_days` of completion.

    CONSULT-REVIEW-1 (DJob: the client, within 21 days), EXPERT-RATING-1 (appointments: clients rate
    providers); `providers_review_clients` lets the provider review the client too."""
    if facts is None or author_id not in (facts.client_id, facts.provider_id):
        return Decision(Eligibility.missing(), (rule,), f"no such {what}")
    if author_id == facts.provider_id and not providers_review_clients:
        return Decision(Eligibility.refused(), (rule,), f"only the client reviews a {what}")
    if not facts.completed or facts.completed_at is None:
        return Decision(Eligibility.refused(), (rule,), f"the {what} is not completed (it is {facts.state})")
    ends = facts.completed_at + timedelta(days=window_days) if window_days is not None else None
    if ends is not None and now >= ends:
        return Decision(
            Eligibility.refused(),
            (rule,),
            f"reviews of a {what} are accepted within {window_days} days of its completion, until {ends.isoformat()}",
        )
    is_client = author_id == facts.client_id
    return Decision(
        Eligibility(
            True,
            reviewee_id=facts.provider_id if is_client else facts.client_id,
            offer_id=facts.offer_id if is_client else None,
            author_role="client" if is_client else "provider",
            completed_at=facts.completed_at,
            window_ends_at=ends,
        ),
        (rule,),
        f"a party of a completed {what}" + (f", within {window_days} days" if window_days else ""),
    )


def check_review(
    rating: object, text: str | None, *, text_rule: str, min_chars: int, max_chars: int
) -> list[FieldError]:
    """The problems of a rating and its text (empty when it is fine). `text_rule`: optional|required."""
    errors: list[FieldError] = []
    if not isinstance(rating, int) or isinstance(rating, bool) or rating not in RATINGS:
        errors.append(FieldError("body.rating", "a whole number from 1 to 5"))
    body = (text or "").strip()
    if text_rule == "required" and len(body) < min_chars:
        errors.append(
            FieldError("body.text", f"this platform asks for a text of at least {min_chars} characters")
        )
    if len(body) > max_chars:
        errors.append(FieldError("body.text", f"at most {max_chars} characters"))
    return errors


def blind_release_at(eligibility: Eligibility, *, blind_window_days: int) -> datetime:
    """When a double-blind review is published at the latest: the end of the review window, or
    `blind_window_days` after completion when the transaction's reviews have no time limit."""
    if eligibility.window_ends_at is not None:
        return eligibility.window_ends_at
    assert eligibility.completed_at is not None
    return eligibility.completed_at + timedelta(days=blind_window_days)


@dataclass(frozen=True)
class Aggregate:
    count: int
    total: int
    distribution: Mapping[int, int]

    @property
    def average(self) -> Decimal | None:
        """The mean rating, to two decimals (half-even); None without ratings."""
        if self.count == 0:
            return None
        return (Decimal(self.total) / Decimal(self.count)).quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)

    @staticmethod
    def of(ratings: Iterable[int]) -> Aggregate:
        """The aggregate recomputed from the ratings themselves (what the stored one must equal)."""
        values = list(ratings)
        return Aggregate(len(values), sum(values), {r: values.count(r) for r in RATINGS})
