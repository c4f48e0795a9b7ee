"""Pure terms policies: notice before new terms, the termination window, the withdrawal deadline."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays

from entremise.kernel.decision import Decision, Verdict

PARIS = ZoneInfo("Europe/Paris")


def notice_verdict(announced_at: datetime, effective_at: datetime, notice_days: int) -> Verdict:
    """COMMON-TERMS-2: a new version takes effect at least `notice_days` after its announcement."""
    if effective_at < announced_at:
        return Verdict.refuse("COMMON-TERMS-2", reason="the effective date cannot be in the past")
    if effective_at - announced_at < timedelta(days=notice_days):
        return Verdict.refuse(
            "COMMON-TERMS-2",
            reason=f"new terms must be announced at least {notice_days} days before they take effect",
        )
    return Verdict.allow("COMMON-TERMS-2")


def termination_deadline(announced_at: datetime, termination_days: int) -> datetime | None:
    """COMMON-TERMS-2: the end of the window to terminate because of new terms (None: no window)."""
    if termination_days <= 0:
        return None
    return announced_at + timedelta(days=termination_days)


def termination_verdict(announced_at: datetime, now: datetime, termination_days: int) -> Verdict:
    deadline = termination_deadline(announced_at, termination_days)
    if deadline is None:
        return Verdict.refuse("COMMON-TERMS-2", reason="this platform gives no termination window")
    if now < announced_at or now > deadline:
        return Verdict.refuse(
            "COMMON-TERMS-2", reason=f"termination is open for {termination_days} days after the announcement"
        )
    return Verdict.allow("COMMON-TERMS-2")


def _is_working_day(day: date, public_holidays: holidays.HolidayBase) -> bool:
    return day.weekday() < 5 and day not in public_holidays


def withdrawal_deadline(concluded_at: datetime, withdrawal_days: int) -> Decision[datetime]:
    """COMMON-WITHDRAW-1: the last instant of the withdrawal period of a contract concluded at T.

    Reading chosen (the most protective): the period is counted in calendar days from the day after
    the contract is concluded (the day of conclusion does not count), in Paris time; it ends at
    23:59:59 on the last day; when that day is a Saturday, a Sunday or a French public holiday, it
    is extended to the end of the next working day. The result is returned in UTC.
    """
    local_day = concluded_at.astimezone(PARIS).date()
    last = local_day + timedelta(days=withdrawal_days)
    fr = holidays.country_holidays("FR", years=range(last.year, last.year + 2))
    extended = False
    while not _is_working_day(last, fr):
        last += timedelta(days=1)
        extended = True
    end = datetime.combine(last, time(23, 59, 59), tzinfo=PARIS).astimezone(UTC)
    reason = f"{withdrawal_days} calendar days, ending {last.isoformat()} 23:59:59 Paris time"
    if extended:
        reason += " (extended to the next working day)"
    return Decision(end, ("COMMON-WITHDRAW-1",), reason)
