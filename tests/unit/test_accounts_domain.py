"""Pure account policies, rule by rule."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from entremise.accounts import domain

STRONG = "correct horse battery staple"


def test_COMMON_ACCOUNT_2_password_needs_twelve_characters():
    assert not domain.password_verdict("a1b2c3d4e5f").allowed  # 11
    assert domain.password_verdict("a1b2c3d4e5f6g").allowed
    assert domain.password_verdict(STRONG).rules == ("COMMON-ACCOUNT-2",)


def test_COMMON_ACCOUNT_2_common_passwords_refused_case_insensitively():
    assert len(domain.common_passwords()) == 10_000
    assert "qwerty123456" in domain.common_passwords()
    for pw in ("qwerty123456", "QWERTY123456", "1q2w3e4r5t6y"):
        verdict = domain.password_verdict(pw)
        assert not verdict.allowed and "common" in verdict.reason


def test_COMMON_ACCOUNT_2_absurdly_long_password_refused():
    assert not domain.password_verdict("x" * 257).allowed


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Alice.Martin@Example.FR ", "alice.martin@example.fr"),
        ("BOB@exemple.com", "bob@exemple.com"),
    ],
)
def test_COMMON_ACCOUNT_1_email_is_stripped_and_lower_cased(raw, expected):
    assert domain.normalise_email(raw).outcome == expected


@pytest.mark.parametrize("raw", ["not-an-email", "a@", "@b.fr", "a b@c.fr", ""])
def test_COMMON_ACCOUNT_1_invalid_email_refused(raw):
    decision = domain.normalise_email(raw)
    assert decision.outcome is None and decision.reason


def test_COMMON_ACCOUNT_1_phone_stored_in_e164_with_default_region():
    assert domain.parse_phone("06 12 34 56 78", "FR").outcome == "+33612345678"
    assert domain.parse_phone("+33 6 12 34 56 78", "FR").outcome == "+33612345678"
    assert domain.parse_phone("01 42 68 53 00", "FR").outcome == "+33142685300"


def test_COMMON_ACCOUNT_1_invalid_phone_refused():
    assert domain.parse_phone("12", "FR").outcome is None
    assert domain.parse_phone("hello", "FR").outcome is None


def test_CARPOOL_ACCOUNT_1_login_phone_must_be_mobile():
    decision = domain.parse_phone("01 42 68 53 00", "FR", mobile_only=True)
    assert decision.outcome is None and decision.rules == ("CARPOOL-ACCOUNT-1",)
    assert domain.parse_phone("06 12 34 56 78", "FR", mobile_only=True).outcome == "+33612345678"


def test_EXPERT_SIGNUP_1_age_counts_whole_years():
    assert domain.age_on(date(2008, 11, 23), date(2026, 11, 23)) == 18
    assert domain.age_on(date(2008, 11, 24), date(2026, 11, 23)) == 17
    assert domain.age_verdict(date(2008, 11, 23), date(2026, 11, 23), 18).allowed
    refused = domain.age_verdict(date(2008, 11, 24), date(2026, 11, 23), 18)
    assert not refused.allowed and refused.rules == ("EXPERT-SIGNUP-1",)
    assert not domain.age_verdict(date(2030, 1, 1), date(2026, 11, 23), None).allowed
    assert domain.age_verdict(date(2020, 1, 1), date(2026, 11, 23), None).allowed


def test_EXPERT_SIGNUP_2_missing_fields_listed_in_order():
    required = ["last_name", "first_name", "phone"]
    assert domain.missing_fields(required, {"first_name": "Ana", "last_name": "  "}) == ["last_name", "phone"]
    assert domain.missing_fields(required, {"first_name": "A", "last_name": "B", "phone": "x"}) == []


T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


def test_COMMON_ACCOUNT_2_throttle_after_five_failures_for_one_identifier():
    fails = tuple(T0 + timedelta(minutes=i) for i in range(4))
    assert domain.login_throttle(domain.Throttle(fails, ()), T0 + timedelta(minutes=5)).outcome is None
    fails += (T0 + timedelta(minutes=4),)
    wait = domain.login_throttle(domain.Throttle(fails, ()), T0 + timedelta(minutes=5)).outcome
    assert wait == 10 * 60  # the first failure leaves the window at T0 + 15 min
    assert domain.login_throttle(domain.Throttle(fails, ()), T0 + timedelta(minutes=15)).outcome is None


def test_COMMON_ACCOUNT_2_throttle_after_twenty_failures_from_one_address():
    fails = tuple(T0 + timedelta(seconds=i) for i in range(20))
    wait = domain.login_throttle(domain.Throttle((), fails), T0 + timedelta(minutes=1)).outcome
    assert wait is not None and 0 < wait <= 15 * 60


def test_COMMON_ACCOUNT_4_retention_holds_civil_identity_only_after_transactions():
    days = {"civil_identity": 5 * 365, "account": 365}
    none = domain.retention_holds(closed_on=date(2026, 11, 23), had_transactions=False, retention_days=days)
    assert [(h.field, h.rule) for h in none] == [("email_digest", "COMMON-PRIVACY-3")]
    some = domain.retention_holds(closed_on=date(2026, 11, 23), had_transactions=True, retention_days=days)
    assert {h.field for h in some} == {"first_name", "last_name", "birth_date", "email_digest"}
    assert next(h for h in some if h.field == "last_name").until == date(2031, 11, 22)
