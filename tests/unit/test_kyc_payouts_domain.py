"""Pure KYC and payout policies: the required set, freshness, IBAN/BIC, the payout verdict."""

from __future__ import annotations

from datetime import date

import pytest

from entremise.kernel.decision import Decision
from entremise.kernel.money import Money
from entremise.kyc import domain as kyc
from entremise.notify.render import available_locales, render
from entremise.payments.port import KycDocumentType as T
from entremise.payouts import domain as payouts


def test_EXPERT_WALLET_1_an_individual_needs_identity_address_and_bank_details() -> None:
    d = kyc.required_documents("individual")
    assert d.outcome == (T.IDENTITY_PROOF, T.ADDRESS_PROOF, T.BANK_DETAILS)
    assert d.rules == ("EXPERT-WALLET-1",)


def test_EXPERT_WALLET_1_a_company_also_needs_its_registry_extract_and_articles() -> None:
    d = kyc.required_documents("company")
    assert set(d.outcome) == {
        T.IDENTITY_PROOF,
        T.ADDRESS_PROOF,
        T.BANK_DETAILS,
        T.REGISTRATION_PROOF,
        T.ARTICLES_OF_ASSOCIATION,
    }
    assert d.rules == ("EXPERT-WALLET-1",)


@pytest.mark.parametrize("doc", [T.ADDRESS_PROOF, T.REGISTRATION_PROOF, T.ARTICLES_OF_ASSOCIATION])
def test_EXPERT_WALLET_1_dated_documents_must_be_under_three_months(doc: T) -> None:
    today = date(2026, 11, 23)
    assert kyc.check_freshness(doc, date(2026, 8, 24), today, 3).allowed
    stale = kyc.check_freshness(doc, date(2026, 8, 23), today, 3)
    assert not stale.allowed and stale.rules == ("EXPERT-WALLET-1",) and "3 months" in stale.reason
    assert not kyc.check_freshness(doc, None, today, 3).allowed
    assert not kyc.check_freshness(doc, date(2026, 11, 24), today, 3).allowed


def test_an_identity_proof_has_no_freshness_condition() -> None:
    assert kyc.check_freshness(T.IDENTITY_PROOF, date(2019, 1, 1), date(2026, 11, 23), 3).allowed
    assert kyc.check_freshness(T.IDENTITY_PROOF, None, date(2026, 11, 23), 3).allowed


def test_months_before_keeps_the_day_or_the_end_of_a_shorter_month() -> None:
    assert kyc.months_before(date(2026, 5, 31), 3) == date(2026, 2, 28)
    assert kyc.months_before(date(2026, 1, 15), 3) == date(2025, 10, 15)


def test_EXPERT_WALLET_1_kyc_is_validated_only_with_every_document_validated() -> None:
    docs = [kyc.DocumentFact(t, kyc.VALIDATED) for t in (T.IDENTITY_PROOF, T.ADDRESS_PROOF)]
    missing = kyc.kyc_status("individual", docs, company_name=None, bank_account=True)
    assert not missing.outcome and "bank_details" in missing.reason
    docs.append(kyc.DocumentFact(T.BANK_DETAILS, kyc.SUBMITTED))
    assert not kyc.kyc_status("individual", docs, company_name=None, bank_account=True).outcome
    docs[-1] = kyc.DocumentFact(T.BANK_DETAILS, kyc.VALIDATED)
    assert kyc.kyc_status("individual", docs, company_name=None, bank_account=True).outcome
    assert not kyc.kyc_status("individual", docs, company_name=None, bank_account=False).outcome
    company = kyc.kyc_status("company", docs, company_name=None, bank_account=True)
    assert (
        not company.outcome
        and "company_name" in company.reason
        and "articles_of_association" in company.reason
    )


def test_iban_and_bic_are_checked_and_compacted() -> None:
    ok = kyc.parse_bank_details("fr76 3000 6000 0112 3456 7890 189", "BNPAFRPPXXX")
    assert isinstance(ok, kyc.BankDetails)
    assert ok.iban == "FR7630006000011234567890189" and ok.bic == "BNPAFRPPXXX" and ok.country == "FR"
    bad = kyc.parse_bank_details("FR76 3000 6000 0112 3456 7890 180", "NOPE")
    assert isinstance(bad, list) and {e.field for e in bad} == {"body.iban", "body.bic"}
    assert kyc.mask_iban("FR7630006000011234567890189") == "FR76 **** **** 0189"


def _facts(**over: object) -> payouts.PayoutFacts:
    base: dict[str, object] = {
        "kyc": Decision(True, ("EXPERT-WALLET-1",), "ok"),
        "wallet_frozen": False,
        "account_active": True,
        "available": Money(6000),
        "amount": Money(6000),
        "minimum_balance": Money(5000),
        "minimum_transfer": Money(100),
    }
    base.update(over)
    return payouts.PayoutFacts(**base)  # type: ignore[arg-type]


def test_EXPERT_WALLET_2_a_payout_needs_fifty_euros_in_the_wallet() -> None:
    assert payouts.may_pay_out(_facts()).allowed
    refused = payouts.may_pay_out(_facts(available=Money(4999), amount=Money(4999)))
    assert not refused.allowed and refused.rules == ("EXPERT-WALLET-2",)
    assert payouts.may_pay_out(_facts(available=Money(5000), amount=Money(1000))).allowed


def test_EXPERT_WALLET_1_no_payout_without_validated_kyc() -> None:
    v = payouts.may_pay_out(_facts(kyc=Decision(False, ("EXPERT-WALLET-1",), "missing: identity_proof")))
    assert not v.allowed and v.rules == ("EXPERT-WALLET-1",) and "identity_proof" in v.reason


def test_EXPERT_SANCTION_1_a_frozen_wallet_or_suspended_account_pays_nothing() -> None:
    assert payouts.may_pay_out(_facts(wallet_frozen=True)).rules == ("EXPERT-SANCTION-1", "CARPOOL-FRAUD-1")
    assert not payouts.may_pay_out(_facts(account_active=False)).allowed


def test_a_payout_never_exceeds_the_wallet() -> None:
    v = payouts.may_pay_out(_facts(amount=Money(6001)))
    assert not v.allowed


def test_CARPOOL_PAY_1_under_the_minimum_transfer_the_balance_carries_over() -> None:
    assert payouts.scheduled_amount(Money(99), Money(100), Money(0)).outcome is None
    paid = payouts.scheduled_amount(Money(100), Money(100), Money(0))
    assert paid.outcome == Money(100) and paid.rules == ("CARPOOL-PAY-1",)
    assert not payouts.may_pay_out(_facts(minimum_balance=Money(0), amount=Money(99))).allowed


def test_the_period_paid_is_the_month_that_ended() -> None:
    from datetime import UTC, datetime

    assert payouts.previous_period(datetime(2026, 1, 1, tzinfo=UTC)) == "2025-12"
    assert payouts.previous_period(datetime(2026, 11, 23, tzinfo=UTC)) == "2026-10"


TEMPLATES = [
    "kyc.document_validated",
    "kyc.document_refused",
    "kyc.review_late",
    "payouts.paid",
    "payouts.bounced",
]


@pytest.mark.parametrize("locale", ["fr", "en"])
@pytest.mark.parametrize("name", TEMPLATES)
def test_every_kyc_and_payout_template_renders_in_french_and_english(name: str, locale: str) -> None:
    payload = {
        "platform_name": "Expert Test",
        "type": "address_proof",
        "reason": "illisible",
        "amount": "60.00 EUR",
    }
    out = render(name, "email", locale, payload)
    assert out.subject and "Expert Test" in out.subject
    assert available_locales(name, "email") == ["en", "fr"]
