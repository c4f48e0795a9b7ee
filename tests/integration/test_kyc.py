"""KYC over HTTP (EXPERT-WALLET-1): uploads through the files module, freshness, IBAN/BIC, staff
review within 48 hours (timer), submission to the payment provider and its outcome, isolation."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from accounts_helpers import auth, staff_token, url
from payouts_helpers import (
    BIC,
    IBAN,
    IBAN2,
    PDF,
    RecordingPsp,
    declare,
    event,
    new_platform,
    provider,
    upload,
    validated_provider,
)

from entremise.audit.service import list_entries
from entremise.kyc import service as kyc
from entremise.kyc.psp import set_provider_lookup
from entremise.notify.models import OutboxMessage
from entremise.payments.port import EventType
from entremise.worker.jobs import run_due_timers

EXE = b"MZ\x90\x00\x03\x00\x00\x00" + b"\x00" * 120


@pytest.fixture
def psp():  # type: ignore[no-untyped-def]
    fake = RecordingPsp()
    set_provider_lookup(lambda db, platform_id, now: fake)
    yield fake
    set_provider_lookup(None)


def _docs(runtime, platform, user_id):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return kyc.status(db, platform=platform, user_id=user_id).documents


def _outbox(runtime, user_id, template):  # type: ignore[no-untyped-def]
    from sqlalchemy import select

    with runtime.sessions() as db, db.begin():
        return list(
            db.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.user_id == user_id, OutboxMessage.template == template
                )
            )
        )


def test_EXPERT_WALLET_1_the_required_set_is_listed_and_kyc_starts_unvalidated(client, platform):
    _, token = provider(client, platform)
    body = client.get(url(platform, "/kyc"), headers=auth(token)).json()
    assert body["required"] == ["identity_proof", "address_proof", "bank_details"]
    assert body["validated"] is False and body["rules"] == ["EXPERT-WALLET-1"]
    r = client.put(
        url(platform, "/kyc/profile"),
        json={"legal_form": "company", "company_name": "Martin SARL"},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    assert r.json()["required"][-2:] == ["registration_proof", "articles_of_association"]
    assert r.json()["company_name"] == "Martin SARL"


def test_EXPERT_WALLET_1_a_company_must_give_its_name(client, platform):
    _, token = provider(client, platform)
    r = client.put(url(platform, "/kyc/profile"), json={"legal_form": "company"}, headers=auth(token))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.company_name"]


def test_EXPERT_WALLET_1_full_flow_staff_approval_then_provider_validation(client, runtime, platform, psp):
    user_id, _token = validated_provider(client, runtime, platform, psp)
    assert len(psp.kyc_calls) == 3
    assert {c["type"].value for c in psp.kyc_calls} == {"identity_proof", "address_proof", "bank_details"}
    docs = _docs(runtime, platform, user_id)
    assert {d.state for d in docs} == {"validated"}
    assert len(_outbox(runtime, user_id, "kyc.document_validated")) == 3
    with runtime.sessions() as db, db.begin():
        actions = {e.action for e in list_entries(db, platform_id=platform.id, object_id=docs[0].id)}
    assert {"kyc.document.submitted", "kyc.document.approved", "kyc.document.validated"} <= actions


def test_EXPERT_WALLET_1_a_duplicate_or_late_kyc_webhook_changes_nothing(client, runtime, platform, psp):
    user_id, _token = validated_provider(client, runtime, platform, psp)
    ref = next(iter(psp.kyc.values())).provider_ref
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        assert (
            kyc.handle_provider_event(db, psp.name, event(EventType.KYC_REFUSED, ref, now, "late"), now)
            == platform.id
        )
        assert (
            kyc.handle_provider_event(db, psp.name, event(EventType.KYC_VALIDATED, "kyc_unknown", now), now)
            is None
        )
    assert {d.state for d in _docs(runtime, platform, user_id)} == {"validated"}
    assert len(_outbox(runtime, user_id, "kyc.document_validated")) == 3


def test_EXPERT_WALLET_1_the_provider_refusal_is_told_with_its_reason(client, runtime, platform, psp):
    user_id, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    doc = declare(client, platform, token, "identity_proof").json()
    client.post(url(platform, f"/staff/kyc/documents/{doc['id']}/approve"), headers=auth(staff))
    ref = next(iter(psp.kyc.values())).provider_ref
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        kyc.handle_provider_event(
            db, psp.name, event(EventType.KYC_REFUSED, ref, now, "document expired"), now
        )
    got = client.get(url(platform, f"/kyc/documents/{doc['id']}"), headers=auth(token)).json()
    assert got["state"] == "refused" and got["reason"] == "document expired"
    [msg] = _outbox(runtime, user_id, "kyc.document_refused")
    assert msg.payload["reason"] == "document expired"


def test_EXPERT_WALLET_1_staff_refuse_with_a_reason_and_the_provider_is_told(client, runtime, platform, psp):
    user_id, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    doc = declare(client, platform, token, "identity_proof").json()
    r = client.post(url(platform, f"/staff/kyc/documents/{doc['id']}/refuse"), json={}, headers=auth(staff))
    assert r.status_code == 422
    r = client.post(
        url(platform, f"/staff/kyc/documents/{doc['id']}/refuse"),
        json={"reason": "photo floue"},
        headers=auth(staff),
    )
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "refused" and r.json()["reason"] == "photo floue"
    assert len(_outbox(runtime, user_id, "kyc.document_refused")) == 1
    # a decided document cannot be decided again; nothing went to the payment provider
    r = client.post(url(platform, f"/staff/kyc/documents/{doc['id']}/approve"), headers=auth(staff))
    assert r.status_code == 409
    assert psp.kyc_calls == []


def test_EXPERT_WALLET_1_stale_proof_of_address_is_refused_and_nothing_is_recorded(client, runtime, platform):
    user_id, token = provider(client, platform)
    today = runtime.clock.now().date()
    r = declare(client, platform, token, "address_proof", issued_on=today - timedelta(days=100))
    assert r.status_code == 422
    assert [e["field"] for e in r.json()["errors"]] == ["body.issued_on"]
    assert "EXPERT-WALLET-1" in r.json()["errors"][0]["reason"]
    r = declare(client, platform, token, "address_proof")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.issued_on"
    assert _docs(runtime, platform, user_id) == ()
    assert (
        declare(client, platform, token, "address_proof", issued_on=today - timedelta(days=80)).status_code
        == 201
    )


def test_wrong_file_type_and_oversize_files_are_refused(client, runtime):
    platform = new_platform(runtime, {"kyc": {"file_max_bytes": 2048}})
    _, token = provider(client, platform)
    r = upload(client, platform, token, EXE, "id.exe")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file"
    r = upload(client, platform, token, b"%PDF-1.7\n" + b"0" * 4096, "id.pdf")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file"
    assert upload(client, platform, token, PDF, "id.pdf").json()["content_type"] == "application/pdf"


def test_a_client_cannot_upload_kyc_files_nor_use_kyc_routes(client, platform):
    from accounts_helpers import user_session

    _, _, token = user_session(client, platform)
    assert upload(client, platform, token).status_code == 403
    assert client.get(url(platform, "/kyc"), headers=auth(token)).status_code == 403


def test_invalid_iban_or_bic_changes_nothing_and_the_iban_is_masked(client, runtime, platform):
    _, token = provider(client, platform)
    r = client.put(
        url(platform, "/kyc/bank-account"),
        json={"iban": "FR7630006000011234567890180", "bic": "ZZ", "holder_name": "A"},
        headers=auth(token),
    )
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.iban", "body.bic"}
    assert client.get(url(platform, "/kyc"), headers=auth(token)).json()["bank_account"] is None
    r = client.put(
        url(platform, "/kyc/bank-account"),
        json={"iban": IBAN, "bic": BIC, "holder_name": "Ada"},
        headers=auth(token),
    )
    assert r.status_code == 200
    assert r.json()["iban"] == "FR76 **** **** 0189"
    assert IBAN not in client.get(url(platform, "/kyc"), headers=auth(token)).text


def test_EXPERT_WALLET_1_changing_the_bank_account_requires_validation_again(client, runtime, platform, psp):
    _user_id, token = validated_provider(client, runtime, platform, psp)
    r = client.put(
        url(platform, "/kyc/bank-account"),
        json={"iban": IBAN2, "holder_name": "Ada Martin"},
        headers=auth(token),
    )
    assert r.status_code == 200
    body = client.get(url(platform, "/kyc"), headers=auth(token)).json()
    assert body["validated"] is False and "bank_details" in body["reason"]
    states = {d["type"]: d["state"] for d in body["documents"]}
    assert states["bank_details"] == "superseded" and states["identity_proof"] == "validated"


def test_EXPERT_WALLET_1_an_unreviewed_document_is_flagged_overdue_after_48_hours(
    client, runtime, platform, clock
):
    user_id, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    doc = declare(client, platform, token, "identity_proof").json()
    queue = client.get(url(platform, "/staff/kyc/reviews"), headers=auth(staff)).json()
    assert [d["id"] for d in queue] == [doc["id"]]
    assert client.get(url(platform, "/staff/kyc/reviews?overdue=true"), headers=auth(staff)).json() == []
    clock.advance(timedelta(hours=47))
    run_due_timers(runtime, clock.now())
    assert (
        client.get(url(platform, f"/kyc/documents/{doc['id']}"), headers=auth(token)).json()["overdue"]
        is False
    )
    clock.advance(timedelta(hours=1, seconds=1))
    run_due_timers(runtime, clock.now())
    late = client.get(url(platform, "/staff/kyc/reviews?overdue=true"), headers=auth(staff)).json()
    assert [d["id"] for d in late] == [doc["id"]] and late[0]["overdue"] is True
    assert len(_outbox(runtime, user_id, "kyc.review_late")) == 1
    with runtime.sessions() as db, db.begin():
        entries = [
            e
            for e in list_entries(db, platform_id=platform.id, object_id=doc["id"])
            if e.action == "kyc.review.overdue"
        ]
    assert entries and entries[0].rules == ["EXPERT-WALLET-1"]


def test_a_review_decided_in_time_never_becomes_overdue(client, runtime, platform, clock):
    _, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    doc = declare(client, platform, token, "identity_proof").json()
    client.post(
        url(platform, f"/staff/kyc/documents/{doc['id']}/refuse"),
        json={"reason": "flou"},
        headers=auth(staff),
    )
    clock.advance(timedelta(hours=49))
    run_due_timers(runtime, clock.now())
    assert (
        client.get(url(platform, f"/kyc/documents/{doc['id']}"), headers=auth(token)).json()["overdue"]
        is False
    )


def test_a_provider_never_sees_another_providers_documents_nor_staff_of_another_platform(
    client, runtime, platform
):
    _, token_a = provider(client, platform)
    _user_b, token_b = provider(client, platform)
    doc = declare(client, platform, token_a, "identity_proof").json()
    assert client.get(url(platform, f"/kyc/documents/{doc['id']}"), headers=auth(token_b)).status_code == 404
    # B cannot declare A's file as theirs
    r = client.post(
        url(platform, "/kyc/documents"),
        json={"type": "identity_proof", "file_id": doc["file_id"]},
        headers=auth(token_b),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.file_id"
    assert client.get(url(platform, f"/files/{doc['file_id']}"), headers=auth(token_b)).status_code == 404
    other = new_platform(runtime)
    other_staff = staff_token(client, runtime, other)
    assert client.get(url(other, "/staff/kyc/reviews"), headers=auth(other_staff)).json() == []
    r = client.post(
        url(other, f"/staff/kyc/documents/{doc['id']}/refuse"),
        json={"reason": "x"},
        headers=auth(other_staff),
    )
    assert r.status_code == 404
    # a provider is not staff
    assert client.get(url(platform, "/staff/kyc/reviews"), headers=auth(token_a)).status_code == 403


def test_a_newer_document_supersedes_the_one_waiting(client, runtime, platform):
    user_id, token = provider(client, platform)
    first = declare(client, platform, token, "identity_proof").json()
    second = declare(client, platform, token, "identity_proof").json()
    states = {d.id: d.state for d in _docs(runtime, platform, user_id)}
    assert states == {first["id"]: "superseded", second["id"]: "pending_review"}


def test_bank_details_need_a_bank_account_first(client, platform):
    _, token = provider(client, platform)
    r = declare(client, platform, token, "bank_details")
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.type"


def test_kyc_data_is_exported_and_stale_documents_are_purged(client, runtime, platform, psp):
    from entremise.privacy.registry import EXPORTERS, load_module_hooks

    load_module_hooks()
    user_id, token = provider(client, platform)
    staff = staff_token(client, runtime, platform)
    client.put(
        url(platform, "/kyc/bank-account"), json={"iban": IBAN, "holder_name": "Ada"}, headers=auth(token)
    )
    doc = declare(client, platform, token, "identity_proof").json()
    client.post(
        url(platform, f"/staff/kyc/documents/{doc['id']}/refuse"),
        json={"reason": "flou"},
        headers=auth(staff),
    )
    with runtime.sessions() as db, db.begin():
        data = EXPORTERS["kyc"](db, platform, user_id)
    assert data["bank_accounts"][0]["iban"] == IBAN and data["documents"][0]["id"] == doc["id"]
    later = runtime.clock.now() + timedelta(days=1)
    with runtime.sessions() as db, db.begin():
        assert (
            kyc.purge_documents(db, platform_id=platform.id, before=runtime.clock.now(), closed_user_ids=[])
            == []
        )
        assert kyc.purge_documents(db, platform_id=platform.id, before=later, closed_user_ids=[]) == [
            doc["id"]
        ]
    assert _docs(runtime, platform, user_id) == ()
    assert client.get(url(platform, f"/files/{doc['file_id']}"), headers=auth(token)).status_code == 404


def test_issue_dates_in_the_future_are_refused(client, runtime, platform):
    _, token = provider(client, platform)
    tomorrow: date = runtime.clock.now().date() + timedelta(days=1)
    r = declare(client, platform, token, "identity_proof", issued_on=tomorrow)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.issued_on"
