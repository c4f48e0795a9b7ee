"""Availability, slots and cancellation rules of appointments (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from entremise.kernel.money import Money
from entremise.scheduling import domain
from entremise.scheduling.domain import (
    Availability,
    BookingWindow,
    Buffers,
    CancellationFigures,
    Override,
    Span,
)

PARIS = ZoneInfo("Europe/Paris")
H = timedelta(hours=1)
M = timedelta(minutes=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)  # type: ignore[misc]


def sundays(hours: list[tuple[int, int]]) -> Availability:
    return Availability({"sun": hours}, {}, PARIS)


def test_hours_parse_and_format() -> None:
    assert domain.parse_hhmm("09:30") == 570
    assert domain.parse_hhmm("24:00") == 1440
    assert domain.format_hhmm(570) == "09:30"
    for bad in ("9:30", "24:30", "12:60", "noon"):
        with pytest.raises(ValueError):
            domain.parse_hhmm(bad)
    assert domain.interval_problems([(540, 720), (600, 660), (800, 700)]) == [
        (1, "overlaps another interval of the same day"),
        (2, "the start must come before the end, within the day"),
    ]


def test_EXPERT_CONSULT_1_nine_oclock_in_paris_follows_summer_time_on_the_last_sunday_of_march() -> None:
    avail = sundays([(9 * 60, 12 * 60)])
    (winter,) = avail.spans(date(2026, 3, 22), date(2026, 3, 22))
    (summer,) = avail.spans(date(2026, 3, 29), date(2026, 3, 29))
    assert winter == Span(utc(2026, 3, 22, 8), utc(2026, 3, 22, 11))
    assert summer == Span(utc(2026, 3, 29, 7), utc(2026, 3, 29, 10))


def test_EXPERT_CONSULT_1_nine_oclock_in_paris_follows_winter_time_on_the_last_sunday_of_october() -> None:
    avail = sundays([(9 * 60, 12 * 60)])
    (summer,) = avail.spans(date(2026, 10, 18), date(2026, 10, 18))
    (winter,) = avail.spans(date(2026, 10, 25), date(2026, 10, 25))
    assert summer == Span(utc(2026, 10, 18, 7), utc(2026, 10, 18, 10))
    assert winter == Span(utc(2026, 10, 25, 8), utc(2026, 10, 25, 11))


def test_a_night_interval_loses_an_hour_in_march_and_gains_one_in_october() -> None:
    night = sundays([(60, 4 * 60)])  # 01:00 to 04:00 local
    (march,) = night.spans(date(2026, 3, 29), date(2026, 3, 29))
    (october,) = night.spans(date(2026, 10, 25), date(2026, 10, 25))
    assert march.end - march.start == 2 * H
    assert october.end - october.start == 4 * H
    slots = domain.free_slots(
        [march],
        length=60 * M,
        step=60 * M,
        buffers=Buffers(),
        busy=[],
        window=BookingWindow(utc(2026, 3, 1), timedelta(0), timedelta(days=90)),
        limit=10,
    )
    # 01:00 CET (00:00 UTC) and 03:00 CEST (01:00 UTC): the hour from 02:00 does not exist
    assert [s.start for s in slots] == [utc(2026, 3, 29, 0), utc(2026, 3, 29, 1)]
    assert [s.start.astimezone(PARIS).hour for s in slots] == [1, 3]


def test_a_wall_time_skipped_in_march_falls_after_the_gap() -> None:
    (span,) = sundays([(2 * 60 + 30, 5 * 60)]).spans(date(2026, 3, 29), date(2026, 3, 29))
    assert span.start.astimezone(PARIS).strftime("%H:%M") == "03:30"


def test_overrides_close_a_day_or_add_hours() -> None:
    monday = date(2026, 12, 7)
    weekly = {"mon": [(9 * 60, 12 * 60)]}
    closed = Availability(weekly, {monday: Override(monday, closed=True)}, PARIS)
    assert closed.spans(monday, monday) == []
    extra = Availability(
        weekly, {monday: Override(monday, closed=False, intervals=((18 * 60, 20 * 60),))}, PARIS
    )
    assert [s.start.astimezone(PARIS).hour for s in extra.spans(monday, monday)] == [9, 18]
    replaced = Availability(
        weekly, {monday: Override(monday, closed=True, intervals=((14 * 60, 15 * 60),))}, PARIS
    )
    assert [s.start.astimezone(PARIS).hour for s in replaced.spans(monday, monday)] == [14]
    touching = Availability({"mon": [(9 * 60, 10 * 60), (10 * 60, 11 * 60)]}, {}, PARIS)
    assert len(touching.spans(monday, monday)) == 1


def test_free_slots_keep_buffers_notice_and_busy_time() -> None:
    span = Span(utc(2026, 12, 7, 8), utc(2026, 12, 7, 11))  # 09:00 to 12:00 in Paris
    busy = [Buffers(15 * M, 15 * M).blocked(Span(utc(2026, 12, 7, 9), utc(2026, 12, 7, 9, 30)))]
    slots = domain.free_slots(
        [span],
        length=30 * M,
        step=15 * M,
        buffers=Buffers(15 * M, 15 * M),
        busy=busy,
        window=BookingWindow(utc(2026, 12, 7, 7), timedelta(hours=1), timedelta(days=1)),
        limit=100,
    )
    starts = [s.start for s in slots]
    # the busy appointment blocks 08:45-09:45 UTC (with its buffers); a new slot's own buffers must
    # not reach into that: 08:00-08:30 (blocked until 08:45) fits, the next one that fits is 10:00
    assert starts == [
        utc(2026, 12, 7, 8),
        utc(2026, 12, 7, 10),
        utc(2026, 12, 7, 10, 15),
        utc(2026, 12, 7, 10, 30),
    ]
    # nothing before the notice of one hour from 07:00 UTC
    late = domain.free_slots(
        [span],
        length=30 * M,
        step=15 * M,
        buffers=Buffers(),
        busy=[],
        window=BookingWindow(utc(2026, 12, 7, 8, 20), timedelta(hours=1), timedelta(days=1)),
        limit=100,
    )
    assert late[0].start == utc(2026, 12, 7, 9, 30)


def test_EXPERT_CONSULT_1_slot_verdicts_say_what_is_wrong() -> None:
    span = Span(utc(2026, 12, 7, 8), utc(2026, 12, 7, 11))
    window = BookingWindow(utc(2026, 12, 6, 8), timedelta(hours=2), timedelta(days=30))

    def verdict(
        start: datetime, minutes: int = 30, busy: list[Span] | None = None, now: datetime | None = None
    ):
        w = window if now is None else BookingWindow(now, window.min_notice, window.max_ahead)
        return domain.slot_verdict(
            Span(start, start + minutes * M),
            spans=[span],
            step=15 * M,
            buffers=Buffers(),
            busy=busy or [],
            window=w,
        )

    assert verdict(utc(2026, 12, 7, 8))[0] is None
    assert verdict(utc(2026, 12, 7, 8), now=utc(2026, 12, 7, 9))[0] == "past"
    assert verdict(utc(2026, 12, 7, 8), now=utc(2026, 12, 7, 7))[0] == "notice"
    assert verdict(utc(2026, 12, 7, 8), now=utc(2026, 10, 1))[0] == "too_far"
    assert verdict(utc(2026, 12, 7, 10, 45))[0] == "unavailable"  # runs past 12:00
    assert verdict(utc(2026, 12, 7, 8, 10))[0] == "off_grid"
    problem, v = verdict(utc(2026, 12, 7, 8), busy=[Span(utc(2026, 12, 7, 8, 20), utc(2026, 12, 7, 8, 50))])
    assert problem == "taken" and v.rules == ("EXPERT-CONSULT-1",)


EUR = "EUR"
FIG = CancellationFigures()
START = utc(2026, 12, 10, 9)


def per_minute(minutes: int = 30) -> domain.Terms:
    terms = domain.per_minute_terms(Money(150), Money(30), minutes, Money(5000)).outcome
    assert terms is not None
    return terms


def package() -> domain.Terms:
    return domain.package_terms(Money(7500), Money(1000), 15).outcome


def test_EXPERT_PRICE_4_a_per_minute_budget_never_exceeds_the_cap() -> None:
    assert per_minute(30).price == Money(4500)
    refused = domain.per_minute_terms(Money(150), Money(30), 40, Money(5000))
    assert refused.outcome is None and refused.rules == ("EXPERT-PRICE-4",)


def test_EXPERT_CANCEL_1_free_48_hours_or_more_before() -> None:
    d = domain.client_cancellation(per_minute(), START, START - 48 * H, FIG, withdrawal_open=False)
    assert d.outcome.total == Money(0) and d.rules == ("EXPERT-CANCEL-1",)


def test_EXPERT_CANCEL_1_per_minute_under_48_hours_costs_ten_minutes_at_the_rate_fee_included() -> None:
    d = domain.client_cancellation(per_minute(), START, START - 47 * H, FIG, withdrawal_open=False)
    # 10 minutes at 1.50 € = 15.00 €, of which 10 minutes of the 0.30 € fee (3.00 €) for the platform
    assert d.outcome.total == Money(1500)
    assert d.outcome.platform == Money(300) and d.outcome.provider == Money(1200)
    assert d.rules == ("EXPERT-CANCEL-1",) and "10 minutes" in d.reason


def test_EXPERT_CANCEL_1_never_more_than_the_budget_of_a_short_appointment() -> None:
    d = domain.client_cancellation(per_minute(6), START, START - H, FIG, withdrawal_open=False)
    assert d.outcome.total == Money(900)  # 6 minutes were booked: 9.00 €, not 15.00 €


def test_EXPERT_CANCEL_1_package_under_48_hours_costs_15_percent_of_price_and_of_fee() -> None:
    d = domain.client_cancellation(package(), START, START - 2 * H, FIG, withdrawal_open=False)
    assert d.outcome.total == Money(1125)  # 15 % of 75 €
    assert d.outcome.platform == Money(150)  # 15 % of the 10 € fee
    assert d.outcome.provider == Money(975)


def test_COMMON_WITHDRAW_1_cancelling_within_an_unwaived_withdrawal_period_is_free() -> None:
    d = domain.client_cancellation(package(), START, START - H, FIG, withdrawal_open=True)
    assert d.outcome.total == Money(0) and d.rules == ("COMMON-WITHDRAW-1",)


def test_EXPERT_CANCEL_2_provider_pays_the_fee_when_cancelling_late_or_missing() -> None:
    early = domain.provider_fee(package(), START, START - 72 * H, FIG, missed=False)
    late = domain.provider_fee(package(), START, START - 3 * H, FIG, missed=False)
    missed = domain.provider_fee(per_minute(), START, START + H, FIG, missed=True)
    assert early.outcome == Money(0)
    assert late.outcome == Money(1125) and late.rules == ("EXPERT-CANCEL-2",)
    assert missed.outcome == Money(1500)


def test_EXPERT_CANCEL_1_a_client_no_show_costs_no_more_than_a_late_cancellation() -> None:
    assert domain.client_no_show(package(), FIG).outcome.total == Money(1125)
