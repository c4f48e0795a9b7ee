"""Pure payment rules: the chargeback policy (CONSULT-CHARGEBACK-1), event ordering, test data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from entremise.payments import domain, testdata

PAID = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)
RULES = ("CONSULT-CHARGEBACK-1",)


def verdict(days: float, reason: str = "fraud"):
    return domain.chargeback_verdict(
        paid_at=PAID,
        opened_at=PAID + timedelta(days=days),
        reason=reason,
        window_days=70,
        reasons=["fraud"],
        rules=RULES,
    )


def test_CONSULT_CHARGEBACK_1_fraud_within_70_days_is_accepted():
    v = verdict(70)
    assert v.allowed and v.rules == RULES


def test_CONSULT_CHARGEBACK_1_after_70_days_is_contested():
    v = verdict(70 + 1 / 24)
    assert not v.allowed and v.rules == RULES and "outside" in v.reason


def test_CONSULT_CHARGEBACK_1_only_fraud_is_accepted():
    v = verdict(3, "duplicate_processing")
    assert not v.allowed and "duplicate_processing" in v.reason


def test_an_event_never_moves_a_payment_backwards():
    assert domain.moves_forward("pending", "succeeded")
    assert domain.moves_forward("authorized", "captured")
    assert not domain.moves_forward("captured", "authorized")
    assert not domain.moves_forward("succeeded", "failed")  # a final state never changes
    assert not domain.moves_forward("expired", "captured")


def test_iban_check_digits():
    assert testdata.iban_is_valid(testdata.IBAN_OK)
    assert testdata.iban_is_valid("fr76 3000 6000 0112 3456 7890 189")
    assert not testdata.iban_is_valid("FR7630006000011234567890188")
    assert not testdata.iban_is_valid("FR76")
    assert all(
        testdata.iban_is_valid(i)
        for i in (testdata.IBAN_PAYOUT_BOUNCES, testdata.IBAN_MANDATE_FAILS, testdata.IBAN_DEBIT_FAILS)
    )


def test_fingerprints_are_stable_and_do_not_reveal_the_instrument():
    a = testdata.card_fingerprint("4242 4242 4242 4242")
    assert a == testdata.card_fingerprint(testdata.CARD_SUCCEEDS)
    assert "4242" not in a and a != testdata.card_fingerprint(testdata.CARD_DECLINED)
    assert testdata.iban_fingerprint(testdata.IBAN_OK) == testdata.iban_fingerprint(testdata.IBAN_OK.lower())


def test_request_hash_depends_on_every_field():
    assert domain.request_hash({"a": 1, "b": 2}) == domain.request_hash({"b": 2, "a": 1})
    assert domain.request_hash({"a": 1}) != domain.request_hash({"a": 2})
