"""Availability, slots and the cancellation rules of appointments (pure: no I/O, no clock).

Times of day are minutes since local midnight (0 to 1440, 1440 being the end of the day), in the
platform's time zone. A day's local intervals become UTC instants through `zoneinfo`, so a day
of 23 or 25 hours (the last Sundays of March and October in Europe/Paris) gives the right
instants: 09:00 is 07:00 UTC in summer and 08:00 UTC in winter, an interval over the night of the
change lasts one hour less or more, and a time that does not exist that night (02:30 in March)
falls on the first instant after the gap.

An appointment occupies its slot; a provider's buffers keep appointments apart: the time from
`start - buffer_before` to `end + buffer_after` is blocked, and two blocked spans may not overlap.
Buffers may reach outside the availability (preparing before the first slot of the day).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from entremise.kernel.decision import Decision, Verdict
from entremise.kernel.money import Money

DAY_MINUTES = 24 * 60
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")

LocalInterval = tuple[int, int]  # minutes since local midnight, start < end
Kind = Literal["per_minute", "package"]


@dataclass(frozen=True)
class Span:
    """A span of time between two aware instants (UTC), `start < end`."""

    start: datetime
    end: datetime

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end

    def contains(self, other: Span) -> bool:
        return self.start <= other.start and other.end <= self.end


# --- local times of day -----------------------------------------------------------------------


def parse_hhmm(text: str) -> int:
    """`"09:30"` -> 570; `"24:00"` (end of the day) -> 1440."""
    if not isinstance(text, str) or not _HHMM.match(text):
        raise ValueError("a time as HH:MM, 00:00 to 24:00")
    if text == "24:00":
        return DAY_MINUTES
    hours, minutes = text.split(":")
    return int(hours) * 60 + int(minutes)


def format_hhmm(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def interval_problems(intervals: Sequence[LocalInterval]) -> list[tuple[int, str]]:
    """(index, reason) for each interval that is empty, reversed or overlaps an earlier one."""
    problems: list[tuple[int, str]] = []
    seen: list[LocalInterval] = []
    for i, (start, end) in enumerate(intervals):
        if not 0 <= start < end <= DAY_MINUTES:
            problems.append((i, "the start must come before the end, within the day"))
            continue
        if any(start < e and s < end for s, e in seen):
            problems.append((i, "overlaps another interval of the same day"))
        seen.append((start, end))
    return problems


def local_to_utc(day: date, minutes: int, tz: ZoneInfo) -> datetime:
    """The instant of a local wall time: `minutes` after local midnight of `day` (1440: next midnight).

    A wall time skipped by a change to summer time is read with the offset in force before the
    change (fold=0), which lands after the gap; a repeated one is its first occurrence."""
    if minutes == DAY_MINUTES:
        day, minutes = day + timedelta(days=1), 0
    local = datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=tz)
    return local.astimezone(UTC)


def day_spans(
    day: date,
    weekly: Mapping[str, Sequence[LocalInterval]],
    override: Override | None,
    tz: ZoneInfo,
) -> list[Span]:
    """The provider's available spans on one local day, in UTC."""
    intervals: list[LocalInterval] = []
    if override is None or not override.closed:
        intervals.extend(weekly.get(WEEKDAYS[day.weekday()], ()))
    if override is not None:
        intervals.extend(override.intervals)
    spans = [Span(local_to_utc(day, s, tz), local_to_utc(day, e, tz)) for s, e in intervals]
    return merge([s for s in spans if s.start < s.end])


def merge(spans: Iterable[Span]) -> list[Span]:
    """Sorted spans with the overlapping or touching ones joined."""
    out: list[Span] = []
    for span in sorted(spans, key=lambda s: (s.start, s.end)):
        if out and span.start <= out[-1].end:
            if span.end > out[-1].end:
                out[-1] = Span(out[-1].start, span.end)
        else:
            out.append(span)
    return out


@dataclass(frozen=True)
class Override:
    """One local day that differs from the week: `closed` drops the weekly hours of that day;
    `intervals` are hours open that day (extra hours, or the only ones when closed)."""

    day: date
    closed: bool
    intervals: tuple[LocalInterval, ...] = ()


@dataclass(frozen=True)
class Availability:
    weekly: Mapping[str, Sequence[LocalInterval]]
    overrides: Mapping[date, Override]
    tz: ZoneInfo

    def spans(self, first_day: date, last_day: date) -> list[Span]:
        """Available spans from `first_day` to `last_day` (local days, both included)."""
        spans: list[Span] = []
        day = first_day
        while day <= last_day:
            spans.extend(day_spans(day, self.weekly, self.overrides.get(day), self.tz))
            day += timedelta(days=1)
        return merge(spans)


# --- slots ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Buffers:
    before: timedelta = timedelta(0)
    after: timedelta = timedelta(0)

    def blocked(self, slot: Span) -> Span:
        return Span(slot.start - self.before, slot.end + self.after)


@dataclass(frozen=True)
class BookingWindow:
    """When a slot may start: not before `now + min_notice`, not after `now + max_ahead`."""

    now: datetime
    min_notice: timedelta
    max_ahead: timedelta

    @property
    def earliest(self) -> datetime:
        return self.now + self.min_notice

    @property
    def latest(self) -> datetime:
        return self.now + self.max_ahead


def free_slots(
    spans: Sequence[Span],
    *,
    length: timedelta,
    step: timedelta,
    buffers: Buffers,
    busy: Sequence[Span],
    window: BookingWindow,
    limit: int,
) -> list[Span]:
    """Slots of `length` starting every `step` from the start of each available span, inside it,
    bookable in `window`, whose blocked span (with buffers) overlaps no `busy` blocked span."""
    if length <= timedelta(0) or step <= timedelta(0):
        raise ValueError("length and step must be positive")
    slots: list[Span] = []
    for span in spans:
        start = span.start
        while start + length <= span.end and len(slots) < limit:
            slot = Span(start, start + length)
            if window.earliest <= start <= window.latest and not any(
                buffers.blocked(slot).overlaps(b) for b in busy
            ):
                slots.append(slot)
            start += step
    return slots


SlotProblem = Literal["past", "notice", "too_far", "off_grid", "unavailable", "taken"]


def slot_verdict(
    slot: Span,
    *,
    spans: Sequence[Span],
    step: timedelta,
    buffers: Buffers,
    busy: Sequence[Span],
    window: BookingWindow,
) -> tuple[SlotProblem | None, Verdict]:
    """EXPERT-CONSULT-1: whether `slot` may be booked, and if not, why (the first problem found)."""
    rule = "EXPERT-CONSULT-1"
    if slot.start <= window.now:
        return "past", Verdict.refuse(rule, reason="this slot has already begun or is in the past")
    if slot.start < window.earliest:
        return "notice", Verdict.refuse(
            rule, reason=f"this provider takes appointments at least {_human(window.min_notice)} ahead"
        )
    if slot.start > window.latest:
        return "too_far", Verdict.refuse(
            rule, reason=f"appointments are taken at most {_human(window.max_ahead)} ahead"
        )
    inside = [s for s in spans if s.contains(slot)]
    if not inside:
        return "unavailable", Verdict.refuse(rule, reason="the provider is not available at that time")
    if (slot.start - inside[0].start) % step:
        return "off_grid", Verdict.refuse(
            rule, reason=f"slots start every {_human(step)} from the start of the provider's hours"
        )
    if any(buffers.blocked(slot).overlaps(b) for b in busy):
        return "taken", Verdict.refuse(rule, reason="this slot is no longer free")
    return None, Verdict.allow(rule, reason="a free slot of the provider's availability")


def _human(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes % (24 * 60) == 0 and minutes:
        days = minutes // (24 * 60)
        return f"{days} day{'s' if days > 1 else ''}"
    if minutes % 60 == 0 and minutes:
        hours = minutes // 60
        return f"{hours} hour{'s' if hours > 1 else ''}"
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


# --- prices and cancellation ------------------------------------------------------------------


@dataclass(frozen=True)
class Terms:
    """What a booked appointment costs: `price` (held from the client's credit: the budget of a
    per-minute appointment, or the package's price) and the platform's fee in it (EXPERT-FEE-1)."""

    kind: Kind
    minutes: int
    price: Money
    rate_per_minute: Money | None  # per-minute appointments
    fee_per_minute: Money  # per-minute appointments: the platform's part of each minute
    fee: Money  # the platform's fee on the whole appointment (per minute × minutes, or per package)


def per_minute_terms(rate: Money, fee_per_minute: Money, minutes: int, cap: Money) -> Decision[Terms | None]:
    """EXPERT-PRICE-4: the budget of a per-minute appointment (rate × minutes) stays under the cap."""
    budget = rate.times(minutes)
    if budget > cap:
        return Decision(
            None,
            rules=("EXPERT-PRICE-4",),
            reason=f"{minutes} minutes at {rate} is {budget}, above the {cap} a per-minute consultation may cost",
        )
    fee = fee_per_minute.times(minutes)
    if fee > budget:
        fee = budget
    return Decision(
        Terms("per_minute", minutes, budget, rate, fee_per_minute, fee),
        rules=("EXPERT-PRICE-1", "EXPERT-PRICE-4"),
        reason=f"{minutes} minutes at {rate}: a budget of {budget}",
    )


def package_terms(price: Money, fee: Money, minutes: int) -> Decision[Terms]:
    return Decision(
        Terms("package", minutes, price, None, Money.zero(price.currency), min(fee, price)),
        rules=("EXPERT-PRICE-2",),
        reason=f"a {minutes}-minute package at {price}",
    )


@dataclass(frozen=True)
class Charge:
    """What the client pays out of the held price: `platform` to the platform, the rest to the provider."""

    total: Money
    platform: Money

    @property
    def provider(self) -> Money:
        return self.total - self.platform

    @staticmethod
    def none(currency: str) -> Charge:
        return Charge(Money.zero(currency), Money.zero(currency))


@dataclass(frozen=True)
class CancellationFigures:
    free_hours: int = 48  # EXPERT-CANCEL-1
    per_minute_fee_minutes: int = 10  # EXPERT-CANCEL-1
    package_fee_percent: int = 15  # EXPERT-CANCEL-1
    provider_free_hours: int = 48  # EXPERT-CANCEL-2


def late_cancellation_fee(terms: Terms, figures: CancellationFigures) -> Charge:
    """EXPERT-CANCEL-1, read most favourably to the client (see docs/scheduling.md):

    - per-minute: the client pays `per_minute_fee_minutes` minutes at the provider's rate, which
      already includes the platform's fee for those minutes; the platform keeps that fee (10
      minutes of fee) and the provider the rest. The fee is not added on top of the rate, and
      never exceeds the budget held for a shorter appointment;
    - package: the client pays `package_fee_percent` of the package's price, which includes the
      platform's fee; the platform keeps that share of its fee (15 % of the fee), the provider the rest.
    """
    if terms.kind == "per_minute":
        assert terms.rate_per_minute is not None
        n = figures.per_minute_fee_minutes
        total = min(terms.rate_per_minute.times(n), terms.price)
        platform = min(terms.fee_per_minute.times(n), total)
        return Charge(total, platform)
    total = terms.price.percent(figures.package_fee_percent)
    platform = min(terms.fee.percent(figures.package_fee_percent), total)
    return Charge(total, platform)


def client_cancellation(
    terms: Terms,
    starts_at: datetime,
    now: datetime,
    figures: CancellationFigures,
    *,
    withdrawal_open: bool,
) -> Decision[Charge]:
    """EXPERT-CANCEL-1: free at least `free_hours` before the start, else the late-cancellation fee.

    COMMON-WITHDRAW-1: while the client's withdrawal right is open (not waived, period running),
    cancelling is a withdrawal and costs nothing."""
    currency = terms.price.currency
    if withdrawal_open:
        return Decision(
            Charge.none(currency),
            rules=("COMMON-WITHDRAW-1",),
            reason="the withdrawal period is running and was not waived: cancelling is free",
        )
    left = starts_at - now
    if left >= timedelta(hours=figures.free_hours):
        return Decision(
            Charge.none(currency),
            rules=("EXPERT-CANCEL-1",),
            reason=f"cancelled at least {figures.free_hours} hours before: free",
        )
    fee = late_cancellation_fee(terms, figures)
    what = (
        f"{figures.per_minute_fee_minutes} minutes at the provider's rate"
        if terms.kind == "per_minute"
        else f"{figures.package_fee_percent} % of the package"
    )
    return Decision(
        fee,
        rules=("EXPERT-CANCEL-1",),
        reason=f"cancelled less than {figures.free_hours} hours before: {what}, {fee.total}",
    )


def client_no_show(terms: Terms, figures: CancellationFigures) -> Decision[Charge]:
    """A client who does not come pays what a late cancellation costs, no more (EXPERT-CANCEL-1)."""
    fee = late_cancellation_fee(terms, figures)
    return Decision(
        fee,
        rules=("EXPERT-CANCEL-1",),
        reason=f"the client did not join: the late-cancellation fee, {fee.total}",
    )


def provider_fee(
    terms: Terms, starts_at: datetime, now: datetime, figures: CancellationFigures, *, missed: bool
) -> Decision[Money]:
    """EXPERT-CANCEL-2: the client is refunded in full; the provider who misses the appointment, or
    cancels it less than `provider_free_hours` before, is charged the cancellation fee for the platform."""
    fee = late_cancellation_fee(terms, figures).total
    if missed:
        return Decision(
            fee,
            rules=("EXPERT-CANCEL-2",),
            reason=f"the provider did not join: {fee} charged to the provider",
        )
    if starts_at - now >= timedelta(hours=figures.provider_free_hours):
        return Decision(
            Money.zero(fee.currency),
            rules=("EXPERT-CANCEL-2",),
            reason=f"cancelled by the provider at least {figures.provider_free_hours} hours before: no fee",
        )
    return Decision(
        fee,
        rules=("EXPERT-CANCEL-2",),
        reason=f"cancelled by the provider less than {figures.provider_free_hours} hours before: "
        f"{fee} charged to the provider",
    )
