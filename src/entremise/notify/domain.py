"""Pure rules of notification delivery: retry schedule, locale fallback, human dates, Message-ID.

No I/O and no clock reads here: times come in as arguments.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from entremise.kernel.backoff import exponential_backoff

DEFAULT_LOCALE = "fr"
RETRY_BASE = timedelta(minutes=1)
RETRY_CAP = timedelta(hours=1)

_LOCALE = re.compile(r"^[a-z]{2,3}(?:[-_][A-Za-z0-9]{2,8})*$")


@dataclass(frozen=True)
class RetryPlan:
    """What to do after a failed attempt: try again at `next_attempt_at`, or give up (`dead`)."""

    dead: bool
    next_attempt_at: datetime | None


def retry_delay(failed_attempts: int) -> timedelta:
    """Wait before the next try after `failed_attempts` failures: 1 min, 2, 4, 8 ... capped at 1 hour."""
    return exponential_backoff(failed_attempts, RETRY_BASE, RETRY_CAP)


def after_failure(failed_attempts: int, max_attempts: int, now: datetime, *, permanent: bool) -> RetryPlan:
    """A permanent failure (a template that cannot render, an address the server refuses for good)
    is dead at once; a transient one is retried with exponential backoff until `max_attempts`."""
    if permanent or failed_attempts >= max_attempts:
        return RetryPlan(dead=True, next_attempt_at=None)
    return RetryPlan(dead=False, next_attempt_at=now + retry_delay(failed_attempts))


def locale_candidates(requested: str | None) -> list[str]:
    """The locales to try, best first: the requested one, its language alone, then French.

    `en-GB` -> [`en-GB`, `en`, `fr`]; a malformed value is ignored (it could otherwise name a path).
    """
    out: list[str] = []
    if requested and _LOCALE.match(requested):
        normal = requested.replace("_", "-")
        out.append(normal)
        language = normal.split("-", 1)[0]
        if language not in out:
            out.append(language)
    if DEFAULT_LOCALE not in out:
        out.append(DEFAULT_LOCALE)
    return out


def message_id(outbox_id: int, platform_id: str, domain: str) -> str:
    """A Message-ID derived from the outbox row, identical on every attempt, so that a receiver
    (or a mail client) seeing the same message twice after a worker crash can recognise it."""
    compact = platform_id.replace("-", "")
    return f"<outbox.{outbox_id}.{compact}@{domain}>"


# --- human dates -------------------------------------------------------------------------------

_MONTHS = {
    "fr": (
        "janvier",
        "février",
        "mars",
        "avril",
        "mai",
        "juin",
        "juillet",
        "août",
        "septembre",
        "octobre",
        "novembre",
        "décembre",
    ),
    "en": (
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ),
}


def parse_iso(value: str | date | datetime, timezone: str) -> date | datetime:
    """An ISO date (`2026-12-01`) stays a date; an ISO datetime is moved to `timezone`.

    A datetime without an offset is taken as UTC (every stored time is UTC)."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, date):
        return value
    else:
        text = value.strip()
        if len(text) == 10:
            return date.fromisoformat(text)
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=ZoneInfo("UTC"))
    return parsed.astimezone(ZoneInfo(timezone))


def _language(locale: str) -> str:
    language = locale.replace("_", "-").split("-", 1)[0]
    return language if language in _MONTHS else DEFAULT_LOCALE


def format_date(value: str | date | datetime, locale: str, timezone: str) -> str:
    """`1er décembre 2026` / `1 December 2026` (a datetime is first moved to `timezone`)."""
    parsed = parse_iso(value, timezone)
    day = parsed.date() if isinstance(parsed, datetime) else parsed
    language = _language(locale)
    month = _MONTHS[language][day.month - 1]
    if language == "fr":
        number = "1er" if day.day == 1 else str(day.day)
        return f"{number} {month} {day.year}"
    return f"{day.day} {month} {day.year}"


def format_datetime(value: str | date | datetime, locale: str, timezone: str) -> str:
    """`1er décembre 2026 à 14 h 05` / `1 December 2026 at 14:05`, in `timezone`.

    A plain date (no time of day) is shown as a date."""
    parsed = parse_iso(value, timezone)
    day = format_date(parsed, locale, timezone)
    if not isinstance(parsed, datetime):
        return day
    if _language(locale) == "fr":
        clock = f"{parsed.hour} h" if parsed.minute == 0 else f"{parsed.hour} h {parsed.minute:02d}"
        return f"{day} à {clock}"
    return f"{day} at {parsed.hour:02d}:{parsed.minute:02d}"
