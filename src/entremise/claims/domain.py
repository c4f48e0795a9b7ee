"""Pure rules of claims: periods and deadlines, the claim's life, required fields, refund limits.

No clock, no database: times come in as arguments, figures from the platform's settings.

Deadlines. A deadline is the first instant *after* a period: a claim filed, or an answer given,
strictly before it is on time. Periods are counted in the platform's time zone:

- `hours`: that many hours after the start (or after the end of the start's day, with
  `from_end_of_day`: CARPOOL-CONTEST-1 "48 hours after the day of the trip"). Across a change of
  clock time the later of the two readings (elapsed hours, or the same wall-clock time) is kept, so a
  claimant never loses an hour.
- `days` (calendar days): the start's day does not count; the period ends at the end of the last
  day (midnight, local time). With `extend_to_business_day`, a last day that is a Saturday, a Sunday
  or a public holiday moves to the next business day (the reading of the Code de procédure civile,
  art. 641 and 642, and the most protective one for the claimant).
- `business_days`: Monday to Friday minus the territory's public holidays; the start's day does not
  count; the period ends at the end of the last business day.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from entremise.kernel.business_days import BusinessCalendar
from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.errors import FieldError
from entremise.kernel.money import Money

Unit = Literal["hours", "days", "business_days"]
UNITS: tuple[str, ...] = ("hours", "days", "business_days")

# --- periods and deadlines ---------------------------------------------------------------------


@dataclass(frozen=True)
class Period:
    count: int
    unit: Unit
    from_end_of_day: bool = False  # hours only: count from the end of the start's day
    extend_to_business_day: bool = False  # days only: a last day off moves to the next business day

    def describe(self) -> str:
        unit = {"hours": "hours", "days": "calendar days", "business_days": "business days"}[self.unit]
        text = f"{self.count} {unit}"
        if self.from_end_of_day:
            text += " after the end of the day"
        if self.extend_to_business_day:
            text += ", a last day off moving to the next business day"
        return text


@dataclass(frozen=True)
class Deadline:
    """`at`: the first instant past the period (UTC). `last_day`: the last local day of the period
    when the period ends at midnight (None when it ends at another time of day)."""

    at: datetime
    last_day: date | None
    timezone: str

    def local(self) -> datetime:
        return self.at.astimezone(ZoneInfo(self.timezone))


def _midnight_after(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)


def _last_day(at: datetime, tz: ZoneInfo) -> date | None:
    local = at.astimezone(tz)
    if local.time() == time(0):
        return local.date() - timedelta(days=1)
    return None


def deadline_at(at: datetime, timezone: str) -> Deadline:
    """A deadline known by its instant (read back from the database)."""
    return Deadline(at, _last_day(at, ZoneInfo(timezone)), timezone)


def deadline_after(
    start: datetime, period: Period, timezone: str, calendar: BusinessCalendar
) -> Decision[Deadline]:
    """The end of `period` counted from `start`, in `timezone` (rules are added by the caller)."""
    if start.tzinfo is None:
        raise ValueError("start must be an aware datetime")
    tz = ZoneInfo(timezone)
    local = start.astimezone(tz)
    day = local.date()
    if period.unit == "hours":
        base = (
            datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz) if period.from_end_of_day else local
        )
        elapsed = base.astimezone(UTC) + timedelta(hours=period.count)
        wall = (base.replace(tzinfo=None) + timedelta(hours=period.count)).replace(tzinfo=tz).astimezone(UTC)
        at = max(elapsed, wall)
        return Decision(
            Deadline(at, _last_day(at, tz), timezone),
            reason=f"{period.describe()} from {local.isoformat()}: before {at.astimezone(tz).isoformat()}",
        )
    if period.unit == "days":
        last = day + timedelta(days=period.count)
        extended = ""
        if period.extend_to_business_day and not calendar.is_business_day(last):
            last = calendar.next_business_day(last)
            extended = " (extended to the next business day)"
        at = _midnight_after(last, tz)
    else:
        last = calendar.add_business_days(day, period.count)
        extended = ""
        at = _midnight_after(last, tz)
    reason = f"{period.describe()} from {day.isoformat()}: until the end of {last.isoformat()} ({timezone}){extended}"
    return Decision(Deadline(at, last, timezone), reason=reason)


def reminder_at(filed_at: datetime, due_at: datetime, before: timedelta) -> datetime:
    """When to remind the respondent: `before` the deadline, but never earlier than halfway."""
    return due_at - min(before, (due_at - filed_at) / 2)


def filing_verdict(now: datetime, deadline: Deadline | None, rules: Sequence[str]) -> Verdict:
    """A claim is accepted strictly before the end of its filing window (no window: always)."""
    if deadline is None:
        return Verdict.allow(*rules, reason="this kind of claim has no filing window")
    if now < deadline.at:
        return Verdict.allow(*rules, reason=f"filed before {deadline.local().isoformat()}")
    return Verdict.refuse(
        *rules, reason=f"the filing window closed at {deadline.local().isoformat()} ({deadline.timezone})"
    )


# --- the claim's life --------------------------------------------------------------------------

STATES: tuple[str, ...] = ("filed", "acknowledged", "answered", "escalated", "closed")
AWAITING_ANSWER: tuple[str, ...] = ("filed", "acknowledged", "escalated")
DECISIONS: tuple[str, ...] = ("accepted", "partly_accepted", "refused")
# capacities a caller has on one claim
# ("provider": the provider a claim was addressed to, after staff took it over)
Capacity = Literal["claimant", "respondent", "provider", "staff", "system"]

# action -> (states it may be taken from, capacities allowed to take it)
_LIFE: Mapping[str, tuple[frozenset[str], frozenset[str]]] = {
    "acknowledge": (frozenset({"filed"}), frozenset({"system"})),
    "answer": (frozenset({"acknowledged", "escalated"}), frozenset({"respondent"})),
    "add_evidence": (
        frozenset({"filed", "acknowledged", "answered", "escalated"}),
        frozenset({"claimant", "respondent", "provider", "staff"}),
    ),
    "escalate": (frozenset({"acknowledged", "answered"}), frozenset({"staff"})),
    "close": (
        frozenset({"filed", "acknowledged", "answered", "escalated"}),
        frozenset({"claimant", "staff"}),
    ),
}
ACTIONS: tuple[str, ...] = tuple(_LIFE)
# how refusals say it: "only the respondent may answer it", "a claim that is closed cannot be answered"
_ACTIVE: Mapping[str, str] = {
    "acknowledge": "acknowledge it",
    "answer": "answer it",
    "add_evidence": "add evidence to it",
    "escalate": "escalate it",
    "close": "close it",
}
_PASSIVE: Mapping[str, str] = {
    "acknowledge": "be acknowledged",
    "answer": "be answered",
    "add_evidence": "receive more evidence",
    "escalate": "be escalated",
    "close": "be closed",
}
NEXT_STATE: Mapping[str, str] = {
    "acknowledge": "acknowledged",
    "answer": "answered",
    "escalate": "escalated",
    "close": "closed",
}


def _capacity_allows(action: str, state: str, capacities: Collection[str]) -> bool:
    _states, who = _LIFE[action]
    if action == "close" and "claimant" not in capacities:
        # staff close a claim once it is answered, never one still awaiting its answer
        return "staff" in capacities and state == "answered"
    return bool(who & set(capacities))


def life_verdict(action: str, state: str, capacities: Collection[str]) -> Verdict:
    """Whether someone with these capacities on a claim may take `action` in `state`.

    The refusal's reason starts with `forbidden:` (the capacity is missing) or `state:` (the claim
    is not in a state that allows it), so the caller can answer 403 or 409."""
    if action not in _LIFE:
        raise ValueError(f"unknown claim action {action!r}")
    states, who = _LIFE[action]
    if not who & set(capacities):
        names = ", ".join(sorted(who))
        return Verdict.refuse(reason=f"forbidden: only the {names} may {_ACTIVE[action]}")
    if state not in states:
        return Verdict.refuse(reason=f"state: a claim that is {state} cannot {_PASSIVE[action]}")
    if not _capacity_allows(action, state, capacities):
        return Verdict.refuse(reason="state: staff close a claim only once it is answered")
    return Verdict.allow(reason=f"{state} -> {NEXT_STATE.get(action, state)}")


def allowed_actions(state: str, capacities: Collection[str]) -> list[str]:
    """What these capacities may do now (for a client to show the buttons that make sense)."""
    return [a for a in ACTIONS if a != "acknowledge" and life_verdict(a, state, capacities).allowed]


def is_overdue(state: str, due_at: datetime, now: datetime) -> bool:
    return state in AWAITING_ANSWER and now >= due_at


# --- filing ------------------------------------------------------------------------------------

CLAIM_FIELDS: tuple[str, ...] = (
    "name",
    "contact",
    "pseudonym",
    "object",
    "comment",
    "evidence",
    "occurred_at",
)


def missing_fields(
    required: Collection[str], given: Mapping[str, object], rules: Sequence[str]
) -> list[FieldError]:
    """Every required field absent or empty, each named (`body.<field>`), all at once."""
    label = f" ({', '.join(rules)})" if rules else ""
    out: list[FieldError] = []
    for name in CLAIM_FIELDS:
        if name not in required:
            continue
        value = given.get(name)
        empty = value is None or (isinstance(value, str) and not value.strip()) or value == [] or value == ()
        if empty:
            out.append(FieldError(f"body.{name}", f"required for this kind of claim{label}"))
    return out


# --- answers and refunds -----------------------------------------------------------------------


def answer_problems(
    decision: str,
    refund: Money | None,
    remedy: str | None,
    *,
    refund_allowed: bool,
    resolution_required: bool,
    rules: Sequence[str],
) -> list[FieldError]:
    """What is wrong with an answer, field by field (empty: it may be recorded)."""
    out: list[FieldError] = []
    if decision not in DECISIONS:
        out.append(FieldError("body.decision", f"one of {', '.join(DECISIONS)}"))
        return out
    if refund is not None:
        if decision == "refused":
            out.append(FieldError("body.refund", "a refused claim refunds nothing"))
        elif not refund_allowed:
            out.append(FieldError("body.refund", "resolutions of this kind of claim do not refund"))
    if decision == "accepted" and resolution_required and refund is None and not (remedy and remedy.strip()):
        label = f" ({', '.join(rules)})" if rules else ""
        out.append(
            FieldError(
                "body.remedy",
                f"an accepted claim of this kind is refunded or put right: give a refund or a remedy{label}",
            )
        )
    return out


def refund_decision(
    requested: Money, paid: Money, already_refunded: Money, rules: Sequence[str]
) -> Decision[Money | None]:
    """A refund never exceeds what the subject cost, counting every earlier refund of it.

    The outcome is the amount to refund, or None (refused) with the reason."""
    if requested.currency != paid.currency:
        return Decision(None, tuple(rules), f"the subject was paid in {paid.currency}")
    if not requested.is_positive:
        return Decision(None, tuple(rules), "a refund is a positive amount")
    left = paid - already_refunded
    if requested > left:
        return Decision(
            None,
            tuple(rules),
            f"at most {left} can be refunded: the subject cost {paid} and {already_refunded} was refunded already",
        )
    return Decision(
        requested, tuple(rules), f"{requested} of {paid} paid ({already_refunded} refunded before)"
    )


def offers_mediation(decision: str | None) -> bool:
    """The claimant is told of mediation unless the claim was fully accepted."""
    return decision in ("refused", "partly_accepted")


# --- the EU ODR link ---------------------------------------------------------------------------


def odr_link_shown(today: date, shown_before: date) -> bool:
    """Regulation (EU) 2024/3228 closed the EU ODR platform on 20 July 2025: its link is shown only
    on days before `shown_before` (the setting; 2025-07-20 by default)."""
    return today < shown_before
