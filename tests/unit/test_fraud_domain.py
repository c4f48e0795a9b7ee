"""Fraud signals as pure rules (COMMON-ACCOUNT-1, TEL-FRAUD-1, CARPOOL-FRAUD-1)."""

from __future__ import annotations

from entremise.fraud import domain


def test_COMMON_ACCOUNT_1_one_account_alone_raises_nothing_two_raise_a_signal() -> None:
    assert domain.shared_identifier("phone", "d", ["a", "a"], seen_on="registration") is None
    sig = domain.shared_identifier("phone", "d", ["b", "a"], seen_on="registration")
    assert sig is not None and sig.kind == "shared_phone" and sig.user_ids == ("a", "b")
    assert "COMMON-ACCOUNT-1" in sig.rules and sig.evidence["accounts"] == ["a", "b"]
    assert domain.shared_identifier("device", "d", ["a", "b"], seen_on="x").rules == (
        "COMMON-ACCOUNT-1",
        "CARPOOL-FRAUD-1",
    )  # type: ignore[union-attr]


def test_identifiers_are_kept_as_digests_of_their_normalised_value() -> None:
    a = domain.digest("p", "bank_account", "FR76 3000 6000 0112 3456 7890 189")
    b = domain.digest("p", "bank_account", "fr7630006000011234567890189")
    assert a == b and len(a) == 64 and "3000" not in a
    assert domain.digest("other", "bank_account", "FR7630006000011234567890189") != a


def test_TEL_FRAUD_1_a_link_to_an_account_with_an_incident_names_both_and_the_incident() -> None:
    sig = domain.linked_to_incident("new", "old", "inc1", "chargeback", "psp-42", ["phone", "device"])
    assert sig.rules == ("TEL-FRAUD-1",) and sig.user_ids == ("new", "old")
    assert sig.evidence["incident"] == {"id": "inc1", "kind": "chargeback", "reference": "psp-42"}
    assert sig.evidence["linked_by"] == ["device", "phone"]


def test_CARPOOL_FRAUD_1_an_abnormal_share_of_failed_verifications() -> None:
    assert domain.failed_share(2, 4, percent=30, min_count=5).outcome is False  # too few to judge
    assert domain.failed_share(1, 5, percent=30, min_count=5).outcome is False
    assert domain.failed_share(3, 10, percent=30, min_count=5).outcome is False  # 30 % is not above 30 %
    d = domain.failed_share(2, 5, percent=30, min_count=5)
    assert d.outcome is True and d.rules == ("CARPOOL-FRAUD-1",) and "40.0 %" in d.reason
