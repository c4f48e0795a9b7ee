"""Pure claims rules: deadlines of each preset (named by rule), the claim's life, fields, refunds, ODR."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from entremise.claims import domain
from entremise.claims.domain import Period, deadline_after, filing_verdict
from entremise.claims.presets import PRESETS
from entremise.claims.settings import ClaimKind, ClaimsSettings, PeriodSettings
from entremise.kernel.business_days import BusinessCalendar
from entremise.kernel.money import Money
from entremise.platforms.settings import PlatformSettings

PARIS = ZoneInfo("Europe/Paris")
FR = BusinessCalendar()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def window(preset: str) -> Period:
    return ClaimKind(preset=preset).filing_window.period()  # type: ignore[union-attr]


def answer_period(preset: str) -> Period:
    return ClaimKind(preset=preset).answer_within.period()


# --- deadlines, preset by preset ---------------------------------------------------------------


def test_CONSULT_CLAIM_1_answered_within_30_business_days_of_receipt() -> None:
    received = paris(2026, 12, 1, 10, 0)
    due = deadline_after(received, answer_period("consult-claim"), "Europe/Paris", FR).outcome
    assert due.last_day == date(2027, 1, 14)  # Christmas and New Year's Day do not count
    assert due.at == paris(2027, 1, 15, 0, 0).astimezone(UTC)
    assert ClaimKind(preset="consult-claim").filing_window is None


def test_CONSULT_CLAIM_1_in_alsace_good_friday_and_26_december_do_not_count() -> None:
    received = paris(2026, 12, 1, 10, 0)
    alsace = deadline_after(received, answer_period("consult-claim"), "Europe/Paris", BusinessCalendar("67"))
    # 26 December 2026 is a Saturday: no difference in 2026
    assert alsace.outcome.last_day == date(2027, 1, 14)
    spring = paris(2027, 3, 1, 9, 0)
    national = deadline_after(spring, answer_period("consult-claim"), "Europe/Paris", FR).outcome
    local = deadline_after(
        spring, answer_period("consult-claim"), "Europe/Paris", BusinessCalendar("57")
    ).outcome
    assert local.last_day == national.last_day + timedelta(days=1)  # Good Friday 26 March 2027


def test_EXPERT_CLAIM_1_filed_within_7_days_of_the_consultation() -> None:
    consultation = paris(2026, 12, 1, 21, 30)  # a Tuesday
    deadline = deadline_after(consultation, window("expert-consultation"), "Europe/Paris", FR).outcome
    assert deadline.last_day == date(2026, 12, 8)
    assert filing_verdict(paris(2026, 12, 8, 23, 59), deadline, ["EXPERT-CLAIM-1"]).allowed
    late = filing_verdict(paris(2026, 12, 9, 0, 0), deadline, ["EXPERT-CLAIM-1"])
    assert not late.allowed and late.rules == ("EXPERT-CLAIM-1",)


def test_EXPERT_CLAIM_1_a_last_day_off_moves_to_the_next_business_day() -> None:
    consultation = paris(2026, 12, 18, 15, 0)  # + 7 days = Christmas, a Friday
    deadline = deadline_after(consultation, window("expert-consultation"), "Europe/Paris", FR)
    assert deadline.outcome.last_day == date(2026, 12, 28)
    assert "extended" in deadline.reason


def test_EXPERT_CLAIM_1_the_provider_has_14_days() -> None:
    kind = ClaimKind(preset="expert-consultation")
    assert kind.respondent == "provider" and kind.required_fields == ["comment"]
    due = deadline_after(paris(2026, 12, 1, 9, 0), kind.answer_within.period(), "Europe/Paris", FR).outcome
    assert due.last_day == date(2026, 12, 15)


def test_EXPERT_CLAIM_2_technology_within_7_days_platform_has_45_days() -> None:
    kind = ClaimKind(preset="expert-technology")
    assert (
        kind.subject == "platform" and kind.respondent == "platform" and "occurred_at" in kind.required_fields
    )
    incident = paris(2026, 11, 20, 12, 0)
    deadline = deadline_after(incident, window("expert-technology"), "Europe/Paris", FR).outcome
    assert deadline.last_day == date(2026, 11, 27)
    assert not filing_verdict(paris(2026, 11, 28, 0, 1), deadline, kind.rules).allowed
    due = deadline_after(paris(2026, 12, 1, 9, 0), kind.answer_within.period(), "Europe/Paris", FR).outcome
    assert due.last_day == date(2027, 1, 15)


def test_KIDRIDE_CLAIM_1_within_one_week_of_the_ride_with_evidence_answered_within_7_days() -> None:
    kind = ClaimKind(preset="kidride-ride")
    assert "evidence" in kind.required_fields and kind.resolution_required
    ride = paris(2026, 12, 2, 8, 0)
    assert deadline_after(ride, kind.filing_window.period(), "Europe/Paris", FR).outcome.last_day == date(
        2026, 12, 9
    )  # type: ignore[union-attr]
    due = deadline_after(paris(2026, 12, 3, 9, 0), kind.answer_within.period(), "Europe/Paris", FR).outcome
    assert due.last_day == date(2026, 12, 10)


def test_CARPOOL_CONTEST_1_48_hours_after_the_day_of_the_trip() -> None:
    trip = paris(2026, 12, 1, 7, 45)  # the day of the trip ends at midnight; then 48 hours
    deadline = deadline_after(trip, window("carpool-trip"), "Europe/Paris", FR).outcome
    assert deadline.local() == paris(2026, 12, 4, 0, 0)
    assert deadline.last_day == date(2026, 12, 3)
    assert filing_verdict(paris(2026, 12, 3, 23, 59), deadline, ["CARPOOL-CONTEST-1"]).allowed
    assert not filing_verdict(paris(2026, 12, 4, 0, 0), deadline, ["CARPOOL-CONTEST-1"]).allowed


def test_CARPOOL_CONTEST_1_hours_across_a_clock_change_keep_the_later_reading() -> None:
    # 25 October 2026: clocks go back one hour; 48 elapsed hours from midnight would end at 23:00
    trip = paris(2026, 10, 24, 18, 0)
    deadline = deadline_after(trip, window("carpool-trip"), "Europe/Paris", FR).outcome
    assert deadline.local() == paris(2026, 10, 27, 0, 0)


def test_plain_hours_count_from_the_moment() -> None:
    start = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    deadline = deadline_after(start, Period(36, "hours"), "Europe/Paris", FR).outcome
    assert deadline.at == start + timedelta(hours=36) and deadline.last_day is None


def test_TEL_DISPUTE_1_an_invoice_is_disputed_within_10_days_of_receipt() -> None:
    kind = ClaimKind(preset="telephony-invoice")
    assert kind.claimant_roles == ["org_admin"] and kind.required_fields == ["comment"]
    receipt = paris(2026, 12, 1, 9, 0)
    assert deadline_after(receipt, kind.filing_window.period(), "Europe/Paris", FR).outcome.last_day == date(
        2026, 12, 11
    )  # type: ignore[union-attr]


def test_no_window_means_always_in_time() -> None:
    assert filing_verdict(paris(2030, 1, 1, 0, 0), None, ["CONSULT-CLAIM-1"]).allowed


def test_the_reminder_comes_before_the_deadline_but_never_before_halfway() -> None:
    filed = datetime(2026, 12, 1, tzinfo=UTC)
    assert domain.reminder_at(filed, filed + timedelta(days=14), timedelta(hours=48)) == filed + timedelta(
        days=12
    )
    assert domain.reminder_at(filed, filed + timedelta(days=2), timedelta(hours=48)) == filed + timedelta(
        days=1
    )


# --- the claim's life --------------------------------------------------------------------------


def test_only_the_respondent_answers_and_only_while_awaiting_an_answer() -> None:
    assert domain.life_verdict("answer", "acknowledged", {"respondent"}).allowed
    refused = domain.life_verdict("answer", "acknowledged", {"claimant"})
    assert not refused.allowed and refused.reason.startswith("forbidden:")
    wrong_state = domain.life_verdict("answer", "answered", {"respondent"})
    assert not wrong_state.allowed and wrong_state.reason.startswith("state:")
    assert domain.life_verdict("answer", "escalated", {"staff", "respondent"}).allowed


def test_staff_escalate_and_close_only_answered_claims_the_claimant_closes_any_open_one() -> None:
    assert domain.life_verdict("escalate", "acknowledged", {"staff"}).allowed
    assert not domain.life_verdict("escalate", "acknowledged", {"respondent"}).allowed
    assert not domain.life_verdict("close", "acknowledged", {"staff", "respondent"}).allowed
    assert domain.life_verdict("close", "answered", {"staff"}).allowed
    assert domain.life_verdict("close", "acknowledged", {"claimant"}).allowed
    assert not domain.life_verdict("close", "closed", {"claimant"}).allowed
    assert domain.allowed_actions("acknowledged", {"claimant"}) == ["add_evidence", "close"]
    assert domain.allowed_actions("acknowledged", {"respondent"}) == ["answer", "add_evidence"]
    assert domain.allowed_actions("closed", {"staff"}) == []


def test_overdue_means_awaiting_an_answer_past_the_deadline() -> None:
    due = datetime(2026, 12, 1, tzinfo=UTC)
    assert domain.is_overdue("acknowledged", due, due)
    assert not domain.is_overdue("acknowledged", due, due - timedelta(seconds=1))
    assert not domain.is_overdue("answered", due, due + timedelta(days=3))


# --- fields, answers, refunds ------------------------------------------------------------------


def test_CONSULT_CLAIM_1_every_missing_field_is_named_at_once() -> None:
    required = ClaimKind(preset="consult-claim").required_fields
    errors = domain.missing_fields(
        required, {"name": "Ada", "contact": "  ", "evidence": []}, ["CONSULT-CLAIM-1"]
    )
    assert [e.field for e in errors] == ["body.contact", "body.pseudonym", "body.object"]
    assert all("CONSULT-CLAIM-1" in e.reason for e in errors)


def test_KIDRIDE_CLAIM_1_an_accepted_claim_is_refunded_or_put_right() -> None:
    problems = domain.answer_problems(
        "accepted", None, None, refund_allowed=True, resolution_required=True, rules=["KIDRIDE-CLAIM-1"]
    )
    assert [p.field for p in problems] == ["body.remedy"] and "KIDRIDE-CLAIM-1" in problems[0].reason
    assert not domain.answer_problems(
        "accepted", None, "a new ride on Friday", refund_allowed=True, resolution_required=True, rules=[]
    )
    assert not domain.answer_problems(
        "accepted", Money(500), None, refund_allowed=True, resolution_required=True, rules=[]
    )


def test_a_refused_claim_refunds_nothing_and_some_kinds_never_refund() -> None:
    refused = domain.answer_problems(
        "refused", Money(100), None, refund_allowed=True, resolution_required=False, rules=[]
    )
    assert [p.field for p in refused] == ["body.refund"]
    never = domain.answer_problems(
        "accepted", Money(100), None, refund_allowed=False, resolution_required=False, rules=[]
    )
    assert [p.field for p in never] == ["body.refund"]


def test_a_refund_never_exceeds_what_the_subject_cost() -> None:
    paid = Money(3000)
    assert domain.refund_decision(Money(1000), paid, Money(0), ["X-Y-1"]).outcome == Money(1000)
    assert domain.refund_decision(Money(2000), paid, Money(1000), ["X-Y-1"]).outcome == Money(2000)
    over = domain.refund_decision(Money(2001), paid, Money(1000), ["X-Y-1"])
    assert over.outcome is None and "20.00 EUR" in over.reason and over.rules == ("X-Y-1",)
    assert domain.refund_decision(Money(100, "GBP"), paid, Money(0), []).outcome is None


def test_mediation_is_offered_unless_the_claim_was_fully_accepted() -> None:
    assert domain.offers_mediation("refused") and domain.offers_mediation("partly_accepted")
    assert not domain.offers_mediation("accepted") and not domain.offers_mediation(None)


def test_the_odr_link_is_no_longer_shown_from_20_july_2025() -> None:
    shown_before = date(2025, 7, 20)
    assert domain.odr_link_shown(date(2025, 7, 19), shown_before)
    assert not domain.odr_link_shown(date(2025, 7, 20), shown_before)
    assert not domain.odr_link_shown(date(2026, 12, 1), shown_before)


# --- settings and presets ----------------------------------------------------------------------


def test_every_preset_loads_and_names_its_rules() -> None:
    for name in PRESETS:
        kind = ClaimKind(preset=name)
        assert kind.rules and kind.preset == name


def test_a_pack_overrides_a_preset_figure() -> None:
    kind = ClaimKind.model_validate(
        {"preset": "carpool-trip", "answer_within": {"count": 15, "unit": "days"}}
    )
    assert kind.answer_within.count == 15 and kind.rules == ["CARPOOL-CONTEST-1"]
    again = ClaimKind.model_validate(kind.model_dump(mode="json"))
    assert again == kind


def test_settings_refuse_what_makes_no_sense() -> None:
    with pytest.raises(ValidationError):
        ClaimKind(preset="no-such-preset")
    with pytest.raises(ValidationError):
        PeriodSettings(count=2, unit="days", from_end_of_day=True)
    with pytest.raises(ValidationError):
        PeriodSettings(count=2, unit="hours", extend_to_business_day=True)
    with pytest.raises(ValidationError):
        ClaimKind(required_fields=["shoe_size"])
    with pytest.raises(ValidationError):
        ClaimKind(subject="platform", respondent="provider", refund_method=None)
    with pytest.raises(ValidationError):
        ClaimsSettings(departement="6AE")
    with pytest.raises(ValidationError):
        ClaimsSettings.model_validate({"kinds": {"Bad Name": {}}})


def test_the_claims_section_is_part_of_the_platform_settings() -> None:
    settings = PlatformSettings.model_validate(
        {"claims": {"departement": "57", "kinds": {"consultation": {"preset": "expert-consultation"}}}}
    )
    assert settings.claims.kinds["consultation"].rules == ["EXPERT-CLAIM-1"]
    assert PlatformSettings().claims.kinds == {}
