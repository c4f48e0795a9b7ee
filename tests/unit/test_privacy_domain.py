"""Pure privacy policies: request deadlines, extensions, reasoned answers, consent, unsubscribe
tokens, retention periods."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from entremise.privacy import domain

PARIS = "Europe/Paris"


def _due(received: datetime, months: int = 1) -> date:
    return domain.deadline(received, PARIS, "FR", months=months).outcome


def test_COMMON_PRIVACY_1_answer_due_one_month_after_receipt() -> None:
    decision = domain.deadline(datetime(2026, 11, 12, 10, tzinfo=UTC), PARIS, "FR")
    assert decision.outcome == date(2026, 12, 14)  # 12 December 2026 is a Saturday
    assert decision.rules == ("COMMON-PRIVACY-1",)
    assert "art. 12(3)" in decision.reason


def test_COMMON_PRIVACY_1_deadline_on_a_holiday_and_weekend_moves_to_the_next_working_day() -> None:
    # received 1 December 2026: one month is 1 January 2027, a public holiday, then Saturday, Sunday
    assert _due(datetime(2026, 12, 1, 9, tzinfo=UTC)) == date(2027, 1, 4)


def test_COMMON_PRIVACY_1_a_month_without_that_date_ends_on_its_last_day() -> None:
    assert _due(datetime(2028, 1, 31, 9, tzinfo=UTC)) == date(2028, 2, 29)  # leap year, a Tuesday
    assert _due(datetime(2027, 3, 31, 9, tzinfo=UTC)) == date(2027, 4, 30)  # a Friday


def test_COMMON_PRIVACY_1_the_day_of_receipt_is_read_in_the_platform_time_zone() -> None:
    # 23:30 UTC on 30 November is already 1 December in Paris
    assert _due(datetime(2026, 11, 30, 23, 30, tzinfo=UTC)) == date(2027, 1, 4)
    assert _due(datetime(2026, 11, 30, 22, 30, tzinfo=UTC)) == date(2026, 12, 30)


def test_COMMON_PRIVACY_1_extension_adds_two_months_to_the_receipt_date() -> None:
    assert _due(datetime(2026, 11, 12, 10, tzinfo=UTC), months=3) == date(2027, 2, 12)


def _extension(**over: object) -> domain.Verdict:
    args: dict[str, object] = {
        "status": "open",
        "extended": False,
        "today": date(2026, 12, 10),
        "due_on": date(2026, 12, 14),
        "months": 2,
        "reason": "three years of call recordings to gather",
    }
    args.update(over)
    return domain.extension_verdict(**args)  # type: ignore[arg-type]


def test_COMMON_PRIVACY_1_extension_allowed_once_within_the_first_month_with_a_reason() -> None:
    assert _extension().allowed
    assert _extension(today=date(2026, 12, 14)).allowed  # the last day still counts
    assert not _extension(today=date(2026, 12, 15)).allowed
    assert not _extension(extended=True).allowed
    assert not _extension(status="answered").allowed
    assert not _extension(months=3).allowed
    assert not _extension(months=0).allowed
    refused = _extension(reason="  ")
    assert not refused.allowed and refused.rules == ("COMMON-PRIVACY-1",)


def _problems(**over: object) -> list[domain.AnswerProblem]:
    args: dict[str, object] = {
        "kind": "erasure",
        "status": "open",
        "outcome": "refused",
        "grounds": ["legal_claims"],
        "message": "a dispute about your last order is still open",
        "purposes": [],
    }
    args.update(over)
    problems, rules = domain.answer_problems(**args)  # type: ignore[arg-type]
    assert rules == ("COMMON-PRIVACY-1",)
    return problems


def test_COMMON_PRIVACY_1_a_refusal_gives_grounds_that_apply_to_the_request() -> None:
    assert _problems() == []
    assert [p.field for p in _problems(grounds=[])] == ["body.grounds"]
    assert [p.field for p in _problems(grounds=["rights_of_others"])] == ["body.grounds.0"]
    assert [p.field for p in _problems(grounds=["no_such_ground"])] == ["body.grounds.0"]
    assert [p.field for p in _problems(message="no")] == ["body.message"]
    assert [p.field for p in _problems(outcome="partially_granted", grounds=[])] == ["body.grounds"]


def test_COMMON_PRIVACY_1_a_full_grant_cites_no_refusal_ground() -> None:
    assert _problems(outcome="granted", grounds=[]) == []
    assert [p.field for p in _problems(outcome="granted")] == ["body.grounds"]


def test_COMMON_PRIVACY_1_an_objection_to_marketing_cannot_be_refused() -> None:
    problems = _problems(
        kind="objection", grounds=["compelling_legitimate_grounds"], purposes=["marketing", "profiling"]
    )
    assert [p.field for p in problems] == ["body.outcome"] and "21(3)" in problems[0].reason
    assert (
        _problems(kind="objection", grounds=["compelling_legitimate_grounds"], purposes=["profiling"]) == []
    )
    partial = _problems(kind="restriction", outcome="partially_granted", grounds=["data_accurate"])
    assert [p.field for p in partial] == ["body.outcome"]


def test_COMMON_PRIVACY_1_an_answered_request_cannot_be_answered_again() -> None:
    assert [p.field for p in _problems(status="answered")] == ["status"]


def test_every_refusal_ground_names_its_article_and_kinds() -> None:
    for ground in domain.GROUNDS.values():
        assert ground.article.startswith("GDPR art")
        assert ground.kinds and set(ground.kinds) <= set(domain.KINDS)


def test_COMMON_PRIVACY_2_marketing_needs_opt_in_an_open_account_and_no_objection() -> None:
    ok = domain.marketing_verdict(consented=True, account_active=True, limited_by=[], channel="email")
    assert ok.allowed and ok.rules == ("COMMON-PRIVACY-2",)
    assert not domain.marketing_verdict(
        consented=False, account_active=True, limited_by=[], channel="email"
    ).allowed
    assert not domain.marketing_verdict(
        consented=True, account_active=False, limited_by=[], channel="email"
    ).allowed
    limited = domain.marketing_verdict(
        consented=True, account_active=True, limited_by=["objection"], channel="sms"
    )
    assert not limited.allowed and "COMMON-PRIVACY-1" in limited.rules and "objection" in limited.reason


SECRET = "a-secret-key-of-the-deployment-0123456789"


def test_COMMON_PRIVACY_2_unsubscribe_token_names_the_user_and_channel() -> None:
    token = domain.unsubscribe_token(SECRET, "platform-1", "user-1", "email")
    read = domain.read_unsubscribe_token([SECRET], "platform-1", token)
    assert read.outcome == domain.UnsubscribeLink("user-1", "email")


@pytest.mark.rule("COMMON-PRIVACY-2")
@pytest.mark.parametrize(
    "tamper",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # one character of the signature
        lambda t: t.replace("user-1", "user-2"),  # another user
        lambda t: t.replace(".email.", ".sms."),  # another channel
        lambda t: t.replace(".email.", ".fax."),  # an unknown channel
        lambda t: t.rsplit(".", 1)[0],  # no signature
        lambda t: t + ".x",
        lambda t: t[:-1] + "é",  # not ASCII
        lambda t: "",
    ],
)
def test_a_forged_or_tampered_unsubscribe_token_is_refused(tamper) -> None:  # type: ignore[no-untyped-def]
    token = domain.unsubscribe_token(SECRET, "platform-1", "user-1", "email")
    assert domain.read_unsubscribe_token([SECRET], "platform-1", tamper(token)).outcome is None


def test_COMMON_PRIVACY_2_a_token_is_bound_to_its_platform_and_secret_and_survives_rotation() -> None:
    token = domain.unsubscribe_token(SECRET, "platform-1", "user-1", "email")
    assert domain.read_unsubscribe_token([SECRET], "platform-2", token).outcome is None
    assert domain.read_unsubscribe_token(["another-secret"], "platform-1", token).outcome is None
    assert domain.read_unsubscribe_token(["new-secret", SECRET], "platform-1", token).outcome is not None


def test_COMMON_PRIVACY_3_retention_period_per_kind() -> None:
    assert domain.retention_days({"connection": 400}, "connection").outcome == 400
    assert domain.retention_days({}, "ride").outcome == 5 * 365  # the catalogue's default
    refused = domain.retention_days({"connection": 0}, "connection")
    assert refused.outcome is None and refused.rules == ("COMMON-PRIVACY-3",)
    assert domain.retention_days({}, "unknown").outcome is None


def test_COMMON_PRIVACY_3_the_catalogue_carries_the_figures_of_the_rule() -> None:
    days = {k: v.default_days for k, v in domain.RETENTION_KINDS.items()}
    assert days["civil_identity"] == 1825 and days["ride"] == 1825
    assert days["account"] == days["connection"] == days["telephony_billing"] == 365
