"""Fraud signals raise cases for staff, with their evidence, at the moment they happen and by the
worker's scan (COMMON-ACCOUNT-1, TEL-FRAUD-1, CARPOOL-FRAUD-1); staff decide, nothing is automatic."""

from __future__ import annotations

from accounts_helpers import auth, login, register, staff_token, url, user_session
from reviews_helpers import make_platform
from sqlalchemy import select

from entremise.accounts import service as accounts
from entremise.fraud import jobs
from entremise.fraud import service as fraud
from entremise.fraud.models import FraudCaseSignal


def cases(client, platform, staff, status="open"):  # type: ignore[no-untyped-def]
    r = client.get(url(platform, "/staff/fraud-cases"), params={"status": status}, headers=auth(staff))
    assert r.status_code == 200, r.text
    return r.json()["items"]


def case(client, platform, staff, case_id):  # type: ignore[no-untyped-def]
    r = client.get(url(platform, f"/staff/fraud-cases/{case_id}"), headers=auth(staff))
    assert r.status_code == 200, r.text
    return r.json()


def test_COMMON_ACCOUNT_1_two_accounts_registered_from_one_device_open_a_case(client, runtime, platform):
    staff = staff_token(client, runtime, platform)
    a = register(client, platform, headers={"X-Device-Id": "device-123"}).json()
    assert cases(client, platform, staff) == []
    b = register(client, platform, headers={"X-Device-Id": "device-123"}).json()
    (c,) = cases(client, platform, staff)
    assert c["user_ids"] == sorted([a["id"], b["id"]]) and "COMMON-ACCOUNT-1" in c["rules"]
    full = case(client, platform, staff, c["id"])
    (sig,) = full["signals"]
    assert sig["kind"] == "shared_device" and sig["source"] == "registration"
    assert sig["evidence"]["accounts"] == sorted([a["id"], b["id"]]) and "device-123" not in str(
        sig["evidence"]
    )
    # a third account on the device adds to the same case
    third = register(client, platform, headers={"X-Device-Id": "device-123"}).json()
    (c,) = cases(client, platform, staff)
    assert third["id"] in c["user_ids"] and len(case(client, platform, staff, c["id"])["signals"]) == 2


def test_COMMON_ACCOUNT_1_a_phone_used_by_two_accounts_is_a_signal(client, runtime, platform):
    staff = staff_token(client, runtime, platform)
    a = register(client, platform, phone="06 12 34 56 78").json()
    b = register(client, platform, landline="+33612345678").json()
    (c,) = cases(client, platform, staff)
    assert c["user_ids"] == sorted([a["id"], b["id"]])
    assert [s["kind"] for s in case(client, platform, staff, c["id"])["signals"]] == ["shared_phone"]


def test_COMMON_ACCOUNT_1_a_shared_payment_instrument_is_raised_once(runtime, platform):
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        assert (
            fraud.note_identifier(
                db,
                platform=platform,
                user_id="u1",
                kind="payment_instrument",
                value="fp-card-1",
                source="payments",
                now=now,
            )
            == []
        )
        first = fraud.note_identifier(
            db,
            platform=platform,
            user_id="u2",
            kind="payment_instrument",
            value="fp-card-1",
            source="payments",
            now=now,
        )
        again = fraud.note_identifier(
            db,
            platform=platform,
            user_id="u2",
            kind="payment_instrument",
            value="fp-card-1",
            source="payments",
            now=now,
        )
    assert len(first) == 1 and again == []
    with runtime.sessions() as db:
        view = fraud.get_case(db, platform_id=platform.id, case_id=first[0])
    assert view.user_ids == ["u1", "u2"] and [s.kind for s in view.signals] == ["shared_payment_instrument"]


def test_TEL_FRAUD_1_an_account_linked_to_one_with_a_chargeback_is_flagged_either_way_round(
    client, runtime, platform
):
    staff = staff_token(client, runtime, platform)
    old, _, _ = user_session(client, platform)
    r = client.post(
        url(platform, "/staff/fraud-incidents"),
        json={"user_id": old, "kind": "chargeback", "reference": "psp-cb-1"},
        headers=auth(staff),
    )
    assert r.status_code == 201 and r.json()["case_ids"] == []  # nobody linked yet
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        fraud.note_identifier(
            db,
            platform=platform,
            user_id=old,
            kind="bank_account",
            value="FR76 3000 6000 0112 3456 7890 189",
            source="payouts",
            now=now,
        )
        raised = fraud.note_identifier(
            db,
            platform=platform,
            user_id="newcomer",
            kind="bank_account",
            value="FR7630006000011234567890189",
            source="payouts",
            now=now,
        )
    assert len(set(raised)) == 1
    full = case(client, platform, staff, raised[0])
    kinds = sorted(s["kind"] for s in full["signals"])
    assert kinds == ["linked_to_incident", "shared_bank_account"] and "TEL-FRAUD-1" in full["rules"]
    link = next(s for s in full["signals"] if s["kind"] == "linked_to_incident")
    assert link["evidence"]["incident"]["kind"] == "chargeback" and link["evidence"]["linked_by"] == [
        "bank_account"
    ]
    # the incident reported after the link: the other way round, once
    with runtime.sessions() as db, db.begin():
        later = fraud.report_incident(
            db, platform=platform, user_id="newcomer", kind="unpaid_debt", reference="inv-9", now=now
        )
        again = fraud.report_incident(
            db, platform=platform, user_id="newcomer", kind="unpaid_debt", reference="inv-9", now=now
        )
    assert later == [raised[0]] and again == []


def test_CARPOOL_FRAUD_1_a_share_of_failed_verifications_above_the_threshold_raises_a_case(client, runtime):
    platform = make_platform(
        runtime, {"fraud": {"failed_verification_percent": 30, "failed_verification_min_count": 5}}
    )
    staff = staff_token(client, runtime, platform)
    member, _, _ = user_session(client, platform)

    def verify(n: int, passed: bool):  # type: ignore[no-untyped-def]
        r = client.post(
            url(platform, "/staff/fraud-verifications"),
            json={"user_id": member, "kind": "trip", "passed": passed, "reference": f"trip-{n}"},
            headers=auth(staff),
        )
        assert r.status_code == 201, r.text
        return r.json()["case_ids"]

    assert [verify(n, n != 0) for n in range(5)] == [[]] * 5  # 1 of 5 failed: 20 %
    raised = verify(5, False)  # 2 of 6: 33 %
    assert len(raised) == 1
    (sig,) = case(client, platform, staff, raised[0])["signals"]
    assert sig["kind"] == "failed_verifications" and sig["rules"] == ["CARPOOL-FRAUD-1"]
    assert sig["evidence"]["failed"] == 2 and sig["evidence"]["total"] == 6
    assert verify(6, False) == []  # the same case, not a new signal this month


def test_staff_decide_with_reasons_and_nothing_happens_to_the_account_on_its_own(client, runtime, platform):
    staff = staff_token(client, runtime, platform)
    a = register(client, platform, headers={"X-Device-Id": "shared"}).json()
    register(client, platform, headers={"X-Device-Id": "shared"})
    (c,) = cases(client, platform, staff)
    with runtime.sessions() as db:
        assert accounts.get_user(db, platform_id=platform.id, user_id=a["id"]).status == "active"
    bad = client.post(
        url(platform, f"/staff/fraud-cases/{c['id']}/decision"),
        json={"decision": "ban", "reason": "x"},
        headers=auth(staff),
    )
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.decision"
    bad = client.post(
        url(platform, f"/staff/fraud-cases/{c['id']}/decision"),
        json={"decision": "confirm", "reason": ""},
        headers=auth(staff),
    )
    assert bad.status_code == 422
    assert case(client, platform, staff, c["id"])["status"] == "open"
    r = client.post(
        url(platform, f"/staff/fraud-cases/{c['id']}/decision"),
        json={"decision": "confirm", "reason": "Même personne, deux comptes : mise en demeure à part."},
        headers=auth(staff),
    )
    assert (
        r.status_code == 200
        and r.json()["status"] == "confirmed"
        and r.json()["decision_reason"].startswith("Même")
    )
    again = client.post(
        url(platform, f"/staff/fraud-cases/{c['id']}/decision"),
        json={"decision": "dismiss", "reason": "x"},
        headers=auth(staff),
    )
    assert again.status_code == 409
    with runtime.sessions() as db:
        assert accounts.get_user(db, platform_id=platform.id, user_id=a["id"]).status == "active"
    assert cases(client, platform, staff, "confirmed")[0]["id"] == c["id"]


def test_members_and_other_platforms_never_see_cases(client, runtime, platform):
    staff = staff_token(client, runtime, platform)
    register(client, platform, headers={"X-Device-Id": "d-iso"})
    register(client, platform, headers={"X-Device-Id": "d-iso"})
    (c,) = cases(client, platform, staff)
    _, _, member = user_session(client, platform)
    assert client.get(url(platform, "/staff/fraud-cases"), headers=auth(member)).status_code == 403
    assert client.get(url(platform, f"/staff/fraud-cases/{c['id']}"), headers=auth(member)).status_code == 403
    other = make_platform(runtime)
    other_staff = staff_token(client, runtime, other)
    assert cases(client, other, other_staff) == []
    assert (
        client.get(url(other, f"/staff/fraud-cases/{c['id']}"), headers=auth(other_staff)).status_code == 404
    )
    r = client.post(
        url(other, f"/staff/fraud-cases/{c['id']}/decision"),
        json={"decision": "dismiss", "reason": "x"},
        headers=auth(other_staff),
    )
    assert r.status_code == 404
    assert case(client, platform, staff, c["id"])["status"] == "open"
    # two platforms sharing a device id know nothing of each other
    register(client, other, headers={"X-Device-Id": "d-iso"})
    assert cases(client, other, other_staff) == []


def test_the_scan_turns_login_device_signals_into_cases_once(client, runtime, platform):
    staff = staff_token(client, runtime, platform)
    _, email_a, _ = user_session(client, platform)
    _, email_b, _ = user_session(client, platform)
    assert login(client, platform, email_a, headers={"X-Device-Id": "tablet"}).status_code == 201
    assert login(client, platform, email_b, headers={"X-Device-Id": "tablet"}).status_code == 201
    assert cases(client, platform, staff) == []  # accounts recorded its signal; no case yet
    r = client.post(url(platform, "/staff/fraud-scan"), headers=auth(staff))
    assert r.status_code == 200 and r.json()["signals_raised"] == 1
    (c,) = cases(client, platform, staff)
    (sig,) = case(client, platform, staff, c["id"])["signals"]
    assert sig["source"] == "scan" and sig["kind"] == "shared_device" and "COMMON-ACCOUNT-1" in sig["rules"]
    assert client.post(url(platform, "/staff/fraud-scan"), headers=auth(staff)).json()["signals_raised"] == 0
    jobs.scan_all(runtime, runtime.clock.now())
    with runtime.sessions() as db:
        n = len(
            list(db.scalars(select(FraudCaseSignal.id).where(FraudCaseSignal.platform_id == platform.id)))
        )
    assert n == 1


def test_bad_reports_are_refused_and_change_nothing(client, runtime, platform):
    staff = staff_token(client, runtime, platform)
    for body in (
        {"user_id": "x", "kind": "theft", "reference": "r"},
        {"user_id": "x", "kind": "chargeback", "reference": ""},
        {"kind": "chargeback", "reference": "r"},
    ):
        assert (
            client.post(url(platform, "/staff/fraud-incidents"), json=body, headers=auth(staff)).status_code
            == 422
        )
    r = client.post(
        url(platform, "/staff/fraud-verifications"),
        json={"user_id": "x", "kind": "trip", "passed": "yes", "reference": "r"},
        headers=auth(staff),
    )
    assert r.status_code == 422
    with runtime.sessions() as db, db.begin():
        try:
            fraud.note_identifier(
                db,
                platform=platform,
                user_id="u",
                kind="iris",
                value="v",
                source="t",
                now=runtime.clock.now(),
            )
        except fraud.InvalidInput as exc:
            assert exc.errors[0].field == "kind"
        else:
            raise AssertionError("an unknown identifier kind was accepted")
    assert cases(client, platform, staff) == []


def test_the_privacy_export_shows_fraud_data_without_identifier_values(client, runtime, platform):
    from entremise.privacy.registry import EXPORTERS, load_module_hooks

    user = register(client, platform, phone="06 98 76 54 32", headers={"X-Device-Id": "phone-x"}).json()
    load_module_hooks()
    with runtime.sessions() as db:
        data = EXPORTERS["fraud"](db, platform, user["id"])
    assert sorted(i["kind"] for i in data["identifiers"]) == ["device", "phone"]
    assert all(set(i) == {"kind", "first_seen", "last_seen"} for i in data["identifiers"])
    assert "phone-x" not in str(data) and "+33698765432" not in str(data)


def test_COMMON_ACCOUNT_1_signals_about_one_account_raised_at_once_land_in_one_case(runtime, platform):
    from test_ledger_concurrency import race

    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        fraud.note_identifier(
            db, platform=platform, user_id="hub", kind="phone", value="+33600000001", source="t", now=now
        )
        fraud.note_identifier(
            db, platform=platform, user_id="hub", kind="device", value="dev-hub", source="t", now=now
        )

    def share(i: int) -> list[str]:
        with runtime.sessions() as db, db.begin():
            kind, value = (("phone", "+33600000001"), ("device", "dev-hub"))[i % 2]
            return fraud.note_identifier(
                db, platform=platform, user_id=f"other-{i}", kind=kind, value=value, source="t", now=now
            )

    outcomes = race(4, share)
    assert all(isinstance(o, list) for o in outcomes), outcomes
    with runtime.sessions() as db:
        (only,) = fraud.list_cases(db, platform_id=platform.id, status="open", after_id=None, limit=10)
        assert "hub" in only.user_ids and {f"other-{i}" for i in range(4)} <= set(only.user_ids)
