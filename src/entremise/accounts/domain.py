"""Pure account policies: identifiers, passwords, required fields, age, brute force, retention.

No I/O here except reading the shipped list of common passwords once (package data, not state).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from importlib import resources

import phonenumbers
from email_validator import EmailNotValidError, validate_email

from entremise.kernel.decision import Decision, Verdict

PASSWORD_MIN_LENGTH = 12
PASSWORD_MAX_LENGTH = 256  # argon2 accepts more, but nobody needs more and hashing huge inputs costs CPU
MAX_FAILURES_PER_ACCOUNT = 5
MAX_FAILURES_PER_IP = 20
LOGIN_WINDOW = timedelta(minutes=15)


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The 10,000 most common passwords (see data/README.md for where they come from)."""
    text = resources.files("entremise.accounts").joinpath("data/common-passwords.txt").read_text("utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip())


def password_verdict(password: str) -> Verdict:
    """COMMON-ACCOUNT-2: at least 12 characters and not one of the 10,000 most common passwords."""
    if len(password) < PASSWORD_MIN_LENGTH:
        return Verdict.refuse("COMMON-ACCOUNT-2", reason=f"at least {PASSWORD_MIN_LENGTH} characters")
    if len(password) > PASSWORD_MAX_LENGTH:
        return Verdict.refuse("COMMON-ACCOUNT-2", reason=f"at most {PASSWORD_MAX_LENGTH} characters")
    if password.lower() in common_passwords():
        return Verdict.refuse("COMMON-ACCOUNT-2", reason="one of the most common passwords")
    return Verdict.allow("COMMON-ACCOUNT-2")


def normalise_email(raw: str) -> Decision[str | None]:
    """COMMON-ACCOUNT-1: strip and lower-case the whole address; syntax checked, no DNS lookup.

    The outcome is None when the address is not valid (the reason says why).
    """
    candidate = raw.strip().lower()
    try:
        checked = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        return Decision(None, ("COMMON-ACCOUNT-1",), str(exc))
    return Decision(checked.normalized.lower(), ("COMMON-ACCOUNT-1",), "normalised")


def parse_phone(raw: str, default_region: str, *, mobile_only: bool = False) -> Decision[str | None]:
    """A phone number in E.164 (+33612345678), or None with the reason it was refused."""
    try:
        number = phonenumbers.parse(raw.strip(), default_region)
    except phonenumbers.NumberParseException:
        return Decision(None, ("COMMON-ACCOUNT-1",), "not a phone number")
    if not phonenumbers.is_valid_number(number):
        return Decision(None, ("COMMON-ACCOUNT-1",), "not a valid phone number")
    if mobile_only and phonenumbers.number_type(number) not in (
        phonenumbers.PhoneNumberType.MOBILE,
        phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
    ):
        return Decision(None, ("CARPOOL-ACCOUNT-1",), "must be a mobile number")
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return Decision(e164, ("COMMON-ACCOUNT-1",), "normalised")


def age_on(birth_date: date, today: date) -> int:
    years = today.year - birth_date.year
    if (today.month, today.day) < (birth_date.month, birth_date.day):
        years -= 1
    return years


def age_verdict(birth_date: date, today: date, min_age: int | None) -> Verdict:
    """EXPERT-SIGNUP-1: members must be adults where the role sets a minimum age."""
    if birth_date > today:
        return Verdict.refuse("EXPERT-SIGNUP-1", reason="birth date is in the future")
    if min_age is not None and age_on(birth_date, today) < min_age:
        return Verdict.refuse("EXPERT-SIGNUP-1", reason=f"must be at least {min_age} years old")
    return Verdict.allow("EXPERT-SIGNUP-1")


def missing_fields(required: Iterable[str], given: Mapping[str, object]) -> list[str]:
    """EXPERT-SIGNUP-1/2, CARPOOL-ACCOUNT-1: the required fields absent or blank, in declared order."""
    out: list[str] = []
    for name in required:
        value = given.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            out.append(name)
    return out


@dataclass(frozen=True)
class Throttle:
    """Failed logins in the current window, oldest first."""

    account_failures: tuple[datetime, ...]
    ip_failures: tuple[datetime, ...]


def login_throttle(t: Throttle, now: datetime) -> Decision[int | None]:
    """COMMON-ACCOUNT-2 (brute force): after 5 failures for one identifier or 20 from one address
    within 15 minutes, refuse. Outcome: seconds until an attempt is allowed again, or None.

    The answer depends only on the identifier typed and the address, never on whether the
    account exists.
    """
    waits: list[int] = []
    for failures, limit in (
        (t.account_failures, MAX_FAILURES_PER_ACCOUNT),
        (t.ip_failures, MAX_FAILURES_PER_IP),
    ):
        recent = sorted(f for f in failures if now - f < LOGIN_WINDOW)
        if len(recent) >= limit:
            # the attempt that must leave the window before another is allowed
            frees_at = recent[len(recent) - limit] + LOGIN_WINDOW
            waits.append(max(1, int((frees_at - now).total_seconds() + 0.999)))
    if waits:
        return Decision(max(waits), ("COMMON-ACCOUNT-2",), "too many failed logins; try again later")
    return Decision(None, ("COMMON-ACCOUNT-2",), "allowed")


@dataclass(frozen=True)
class RetentionHold:
    field: str
    rule: str
    kind: str
    until: date


def retention_holds(
    *, closed_on: date, had_transactions: bool, retention_days: Mapping[str, int]
) -> list[RetentionHold]:
    """COMMON-ACCOUNT-4 with COMMON-PRIVACY-3: what survives the closure of an account, and until when.

    - civil identity (names, birth date) for `civil_identity` days, only when the user took part in
      a transaction (it is evidence of who contracted);
    - a digest of the e-mail address (account data) for `account` days: it lets staff link abuse to
      the closed account without keeping the address itself, which becomes free to register again.
    Everything else is erased at once.
    """
    holds: list[RetentionHold] = []
    if had_transactions:
        until = closed_on + timedelta(days=retention_days.get("civil_identity", 5 * 365))
        for name in ("first_name", "last_name", "birth_date"):
            holds.append(RetentionHold(name, "COMMON-PRIVACY-3", "civil_identity", until))
    account_until = closed_on + timedelta(days=retention_days.get("account", 365))
    holds.append(RetentionHold("email_digest", "COMMON-PRIVACY-3", "account", account_until))
    return holds
