"""Payments feed the fraud signals: a card or bank account used by several accounts, and an account
linked to one that had a chargeback, open cases for staff (COMMON-ACCOUNT-1, TEL-FRAUD-1)."""

from __future__ import annotations

from payments_helpers import Payer, advance, deliver
from sqlalchemy import select

from entremise.fraud import service as fraud
from entremise.fraud.models import FraudIncident
from entremise.payments import testdata


def _case_kinds(runtime, platform) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    with runtime.sessions() as db:
        found: dict[str, list[str]] = {}
        for case in fraud.list_cases(db, platform_id=platform.id, status="open", after_id=None, limit=100):
            view = fraud.get_case(db, platform_id=platform.id, case_id=case.id)
            for signal in view.signals:
                found.setdefault(signal.kind, []).extend(view.user_ids)
        return found


def test_COMMON_ACCOUNT_1_one_card_paying_for_two_accounts_opens_a_case(runtime, platform, client):
    first, second = Payer(client, platform), Payer(client, platform)
    assert first.pay(testdata.CARD_SUCCEEDS).status_code == 201
    assert "shared_payment_instrument" not in _case_kinds(runtime, platform)
    assert second.pay(testdata.CARD_SUCCEEDS).status_code == 201
    kinds = _case_kinds(runtime, platform)
    assert sorted(set(kinds["shared_payment_instrument"])) == sorted({first.id, second.id})


def test_TEL_FRAUD_1_a_chargeback_is_an_incident_and_flags_the_account_sharing_the_card(
    runtime, platform, client
):
    payer = Payer(client, platform)
    assert payer.pay(testdata.CARD_CHARGEBACK_FRAUD, 5000).status_code == 201
    deliver(runtime, client, platform)
    advance(runtime, days=30, seconds=1)
    assert deliver(runtime, client, platform) == 1  # the chargeback arrives
    with runtime.sessions() as db:
        incidents = list(db.scalars(select(FraudIncident).where(FraudIncident.platform_id == platform.id)))
    assert [(i.user_id, i.kind) for i in incidents] == [(payer.id, "chargeback")]
    # a later account paying with the charged-back card shares it, and is linked to the incident
    other = Payer(client, platform)
    r = other.pay(testdata.CARD_CHARGEBACK_FRAUD, 1000)
    assert r.status_code == 201, r.text
    kinds = _case_kinds(runtime, platform)
    assert other.id in kinds["shared_payment_instrument"]
    assert other.id in kinds["linked_to_incident"]
