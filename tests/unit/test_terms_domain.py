"""Pure terms policies: notice, termination window, withdrawal deadline."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from entremise.terms import domain

PARIS = ZoneInfo("Europe/Paris")
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_COMMON_TERMS_2_effective_date_needs_the_notice_period():
    assert not domain.notice_verdict(T0, T0 + timedelta(days=13, hours=23), 14).allowed
    assert domain.notice_verdict(T0, T0 + timedelta(days=14), 14).allowed
    assert domain.notice_verdict(T0, T0, 0).allowed
    assert not domain.notice_verdict(T0, T0 - timedelta(seconds=1), 0).allowed
    assert domain.notice_verdict(T0, T0, 14).rules == ("COMMON-TERMS-2",)


def test_COMMON_TERMS_2_termination_window():
    assert domain.termination_verdict(T0, T0 + timedelta(days=10), 10).allowed
    assert not domain.termination_verdict(T0, T0 + timedelta(days=10, seconds=1), 10).allowed
    assert not domain.termination_verdict(T0, T0, 0).allowed
    assert domain.termination_deadline(T0, 10) == T0 + timedelta(days=10)


def test_COMMON_WITHDRAW_1_fourteen_calendar_days_ending_at_midnight_paris():
    # concluded Monday 2 March 2026 at 15:00 Paris: the 14 days end Monday 16 March 23:59:59 Paris
    concluded = datetime(2026, 3, 2, 15, 0, tzinfo=PARIS)
    decision = domain.withdrawal_deadline(concluded, 14)
    assert decision.outcome == datetime(2026, 3, 16, 23, 59, 59, tzinfo=PARIS)
    assert decision.rules == ("COMMON-WITHDRAW-1",)


def test_COMMON_WITHDRAW_1_a_saturday_end_moves_to_monday():
    concluded = datetime(2026, 3, 7, 10, 0, tzinfo=PARIS)  # Saturday; +14 = Saturday 21 March
    deadline = domain.withdrawal_deadline(concluded, 14)
    assert deadline.outcome == datetime(2026, 3, 23, 23, 59, 59, tzinfo=PARIS)
    assert "extended" in deadline.reason


def test_COMMON_WITHDRAW_1_a_public_holiday_end_moves_to_the_next_working_day():
    # concluded 17 April 2026; +14 = Friday 1 May (Labour Day) -> Saturday, Sunday -> Monday 4 May
    concluded = datetime(2026, 4, 17, 12, 0, tzinfo=PARIS)
    assert domain.withdrawal_deadline(concluded, 14).outcome == datetime(2026, 5, 4, 23, 59, 59, tzinfo=PARIS)
    # concluded 11 December 2026; +14 = Friday 25 December -> Monday 28 December
    concluded = datetime(2026, 12, 11, 12, 0, tzinfo=PARIS)
    assert domain.withdrawal_deadline(concluded, 14).outcome == datetime(
        2026, 12, 28, 23, 59, 59, tzinfo=PARIS
    )


def test_COMMON_WITHDRAW_1_day_counted_in_paris_time_not_utc():
    # 23:30 UTC on 2 March is already 3 March in Paris: the period ends 17 March
    concluded = datetime(2026, 3, 2, 23, 30, tzinfo=UTC)
    assert domain.withdrawal_deadline(concluded, 14).outcome == datetime(
        2026, 3, 17, 23, 59, 59, tzinfo=PARIS
    )
