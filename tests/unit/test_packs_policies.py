"""The consult and expert packs' policies, rule by rule, with the pack's default figures."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from pydantic import ValidationError

from entremise.kernel.money import Money
from entremise.notify.render import TEMPLATES_DIR
from entremise.packs import registry
from entremise.packs.base import add_months
from entremise.packs.consult import policies as consult
from entremise.packs.consult.settings import ConsultSettings
from entremise.packs.expert import policies as expert
from entremise.packs.expert.settings import ExpertSettings
from entremise.platforms.settings import PlatformSettings

C = ConsultSettings()
E = ExpertSettings()
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def test_every_figure_of_each_pack_names_its_rules_and_they_are_the_packs_rules():
    for pack in registry.all_packs():
        for spec in pack.figures():
            assert spec.rules, spec.path
            for rule in spec.rules:
                assert rule.startswith(("CONSULT-", "EXPERT-", "COMMON-")), (spec.path, rule)


def test_each_pack_ships_terms_in_french_and_english_for_each_audience_and_its_templates():
    for pack in registry.all_packs():
        assert pack.audiences() == ["client", "provider"]
        for audience in pack.audiences():
            for locale in ("fr", "en"):
                text = pack.terms_text(audience, locale)
                assert text and len(text) > 200
        for name in pack.templates:
            for locale in ("fr", "en"):
                assert (TEMPLATES_DIR / locale / f"{name}.subject.j2").is_file(), (name, locale)
                assert (TEMPLATES_DIR / locale / f"{name}.txt.j2").is_file(), (name, locale)


def test_pack_settings_are_validated_with_the_pack_model_and_need_a_pack():
    PlatformSettings.model_validate({"pack": "consult", "pack_settings": {"cut_call_refund_max_minutes": 3}})
    with pytest.raises(ValidationError, match="cut_call_refund_max_minutes"):
        PlatformSettings.model_validate(
            {"pack": "consult", "pack_settings": {"cut_call_refund_max_minutes": -1}}
        )
    with pytest.raises(ValidationError, match="unknown pack"):
        PlatformSettings.model_validate({"pack": "nope"})
    with pytest.raises(ValidationError, match="need a pack"):
        PlatformSettings.model_validate({"pack_settings": {"cut_call_refund_max_minutes": 1}})


def test_CONSULT_CREDIT_1_the_seven_packs_with_their_bonus():
    got = [consult.credit_pack(C, i).outcome for i in range(7)]
    assert [(p.amount, b.amount) for p, b in got if True] == [  # type: ignore[misc]
        (1000, 0),
        (1000, 500),
        (3000, 0),
        (3000, 1500),
        (5000, 0),
        (5000, 2500),
        (10000, 0),
    ]
    missing = consult.credit_pack(C, 7)
    assert missing.outcome is None and missing.rules == ("CONSULT-CREDIT-1",)


def test_CONSULT_CALL_4_cut_call_refund_only_up_to_five_minutes():
    assert consult.cut_call_refund(C, duration_seconds=300).allowed
    refused = consult.cut_call_refund(C, duration_seconds=301)
    assert not refused.allowed and refused.rules == ("CONSULT-CALL-4",)


def test_CONSULT_REVIEW_1_paid_consultations_over_three_minutes_and_completed_djobs_within_21_days():
    ok = consult.review_eligibility(C, subject="consultation", ended_at=T0, now=T0, duration_seconds=181)
    assert ok.allowed and ok.rules == ("CONSULT-REVIEW-1",)
    assert not consult.review_eligibility(
        C, subject="consultation", ended_at=T0, now=T0, duration_seconds=180
    ).allowed
    assert not consult.review_eligibility(
        C, subject="consultation", ended_at=T0, now=T0, duration_seconds=600, free=True
    ).allowed
    late = T0 + timedelta(days=21, seconds=1)
    assert not consult.review_eligibility(C, subject="djob", ended_at=T0, now=late).allowed
    assert consult.review_eligibility(C, subject="djob", ended_at=T0, now=T0 + timedelta(days=21)).allowed
    assert not consult.review_eligibility(C, subject="djob", ended_at=T0, now=T0, completed=False).allowed


def test_CONSULT_REVIEW_2_newest_first_and_removed_only_after_a_pertinent_report():
    a = consult.ReviewDates("a", T0, None)
    b = consult.ReviewDates("b", T0 + timedelta(days=1), T0 + timedelta(days=2))
    assert [r.id for r in consult.review_listing([a, b]).outcome] == ["b", "a"]
    assert not consult.review_removal(breaks_terms_or_illicit=True, reported=False).allowed
    assert not consult.review_removal(breaks_terms_or_illicit=False, reported=True).allowed
    assert consult.review_removal(breaks_terms_or_illicit=True, reported=True).rules == ("CONSULT-REVIEW-2",)


def test_CONSULT_GIFT_1_twelve_months_without_login_lose_the_offer():
    assert not consult.discovery_offer_lost(
        C, last_login_at=T0, now=add_months(T0, 12) - timedelta(seconds=1)
    ).allowed
    assert consult.discovery_offer_lost(C, last_login_at=T0, now=add_months(T0, 12)).allowed


def test_CONSULT_RECORD_1_kept_twelve_months_and_an_objection_is_honoured():
    assert consult.recording_purge_at(C, recorded_at=T0).outcome == datetime(2027, 12, 1, 10, 0, tzinfo=UTC)
    assert consult.may_record(C, client_objected=False).allowed
    assert not consult.may_record(C, client_objected=True).allowed


def test_CONSULT_SANCTION_1_urgent_suspends_at_once_lesser_gets_thirty_days():
    assert consult.sanction(C, urgent=True, now=T0).outcome.action == "suspend_now"
    notice = consult.sanction(C, urgent=False, now=T0).outcome
    assert notice.action == "formal_notice" and notice.remedy_due == T0 + timedelta(days=30)
    assert notice.sworn_statement_required


def test_CONSULT_OUTAGE_1_pro_rata_within_thirty_days_unless_force_majeure():
    d = consult.outage_refund(
        C,
        price_of_period=Money(3000),
        period_seconds=30 * 86400,
        interruption_seconds=3 * 86400,
        force_majeure=False,
        now=T0,
    )
    assert d.outcome is not None and d.outcome.amount == Money(300)
    assert d.outcome.due_by == T0 + timedelta(days=30)
    fm = consult.outage_refund(
        C, price_of_period=Money(3000), period_seconds=10, interruption_seconds=5, force_majeure=True, now=T0
    )
    assert fm.outcome is None and fm.rules == ("CONSULT-OUTAGE-1",)


def test_CONSULT_PACKAGE_1_told_after_two_months_unused():
    assert not consult.unused_package_notice(C, last_used_at=T0, now=add_months(T0, 1)).allowed
    assert consult.unused_package_notice(C, last_used_at=T0, now=add_months(T0, 2)).allowed


def test_EXPERT_WALLET_1_documents_by_status_their_age_and_the_48_hour_answer():
    assert expert.kyc_documents("individual").outcome == ("id_card", "proof_of_address", "bank_details")
    assert "articles" in expert.kyc_documents("company").outcome
    today = date(2026, 12, 1)
    assert expert.kyc_document_verdict(
        E, kind="proof_of_address", issued_on=date(2026, 9, 2), today=today
    ).allowed
    old = expert.kyc_document_verdict(E, kind="proof_of_address", issued_on=date(2026, 8, 1), today=today)
    assert not old.allowed and old.rules == ("EXPERT-WALLET-1",)
    assert expert.kyc_answer_due(E, submitted_at=T0).outcome == T0 + timedelta(hours=48)


def test_EXPERT_WALLET_2_payout_from_fifty_euros_with_validated_kyc():
    assert not expert.payout_verdict(E, balance=Money(10000), kyc_validated=False).allowed
    low = expert.payout_verdict(E, balance=Money(4999), kyc_validated=True)
    assert not low.allowed and low.rules == ("EXPERT-WALLET-2",)
    assert expert.payout_verdict(E, balance=Money(5000), kyc_validated=True).allowed


def test_EXPERT_RECORD_1_and_RATING_1_cannot_be_turned_on():
    assert not expert.may_record(E).allowed and expert.may_record(E).rules == ("EXPERT-RECORD-1",)
    assert not expert.rating_opposition(E).allowed
    with pytest.raises(ValidationError):
        ExpertSettings.model_validate({"recording_enabled": True})
    with pytest.raises(ValidationError):
        ExpertSettings.model_validate({"provider_may_oppose_rating": True})


def test_EXPERT_SANCTION_1_the_listed_sanctions_only():
    assert expert.sanction_verdict(E, sanction="block_wallet").allowed
    assert not expert.sanction_verdict(E, sanction="fine").allowed


def test_the_packs_fill_the_metering_tariff_CONSULT_CALL_2_CONSULT_CALL_3_EXPERT_PRICE_4_EXPERT_FEE_1():
    consult_doc = PlatformSettings.model_validate(
        registry.get("consult").platform_defaults() | {"pack": "consult"}
    )
    assert (
        consult_doc.metering.connection_fee == 125 and consult_doc.metering.mobile_surcharge_per_minute == 10
    )
    assert consult_doc.metering.model == "resale" and consult_doc.metering.per_minute_cap is None
    expert_doc = PlatformSettings.model_validate(
        registry.get("expert").platform_defaults() | {"pack": "expert"}
    )
    assert expert_doc.metering.per_minute_cap == 5000 and expert_doc.metering.model == "fee"
    assert expert_doc.metering.connection_fee == 0 and expert_doc.metering.one_third_max_minutes == 60


def test_CONSULT_CHARGEBACK_1_the_consult_pack_fills_the_payments_figures():
    doc = PlatformSettings.model_validate(registry.get("consult").platform_defaults() | {"pack": "consult"})
    assert doc.payments.chargeback_window_days == 70 and doc.payments.chargeback_reasons == ["fraud"]
    assert doc.payments.chargeback_rules == ["CONSULT-CHARGEBACK-1"]
