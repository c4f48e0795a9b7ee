"""Packs through the real HTTP app: a platform created with a pack, its figures with rule IDs,
staff overrides validated field by field, the packs' sign-up rules, platforms kept apart."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from accounts_helpers import auth, email, login, staff_token, url
from claims_helpers import SERVICE  # noqa: F401 - registers the test-service process
from packs_helpers import EXPERT_PROVIDER, pack_platform, session, sign_up
from typer.testing import CliRunner

from entremise.audit.models import AuditEntry
from entremise.booking import service as processes
from entremise.booking.service import ProcessActor
from entremise.claims.subjects import SubjectFacts, register_subject
from entremise.cli.main import app as cli
from entremise.kernel.errors import NotFound
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.notify.models import OutboxMessage
from entremise.platforms import service as platforms


@pytest.fixture
def consult(runtime):
    return pack_platform(runtime, "consult")


@pytest.fixture
def expert(runtime):
    return pack_platform(runtime, "expert")


def figures(client, platform) -> dict[str, dict]:
    r = client.get(url(platform, "/settings"))
    assert r.status_code == 200, r.text
    return {f["path"]: f for f in r.json()["figures"]}


def test_a_pack_platform_has_its_figures_with_rule_ids_its_terms_and_its_claims(client, consult, expert):
    f = figures(client, consult)
    assert f["metering.connection_fee"]["value"] == 125
    assert f["metering.connection_fee"]["rules"] == ["CONSULT-CALL-2"]
    assert f["metering.mobile_surcharge_per_minute"]["rules"] == ["CONSULT-CALL-3"]
    assert f["pack_settings.cut_call_refund_max_minutes"]["value"] == 5
    assert len(f["pack_settings.credit_packs"]["value"]) == 7
    assert not any(x["overridden"] for x in f.values())
    e = figures(client, expert)
    assert e["scheduling.per_minute_budget_cap"] == {
        **e["scheduling.per_minute_budget_cap"],
        "value": 5000,
        "rules": ["EXPERT-PRICE-4"],
    }
    assert e["pack_settings.payout_minimum"]["value"] == 5000
    assert e["pack_settings.payout_minimum"]["rules"] == ["EXPERT-WALLET-2"]
    for platform in (consult, expert):
        for audience in ("client", "provider"):
            r = client.get(url(platform, f"/terms/{audience}"))
            assert r.status_code == 200 and r.json()["in_force"], r.text
    assert set(expert.settings.claims.kinds) == {"consultation", "technology"}
    assert expert.settings.claims.kinds["technology"].rules == ["EXPERT-CLAIM-2"]
    assert consult.settings.claims.kinds["consultation"].refund_policy == "consult-cut-call"
    packs = {p["name"]: p for p in client.get("/api/v1/packs").json()}
    assert set(packs) == {"consult", "expert"} and "CONSULT-CALL-4" in packs["consult"]["rules"]


def test_CONSULT_CREDIT_1_the_packs_credit_packs_are_on_sale_in_the_wallet_module(runtime, consult, expert):
    from entremise.wallets import service as wallets

    with runtime.sessions() as db, db.begin():
        on_sale = wallets.list_packs(db, platform_id=consult.id, active_only=True)
        none = wallets.list_packs(db, platform_id=expert.id, active_only=True)
    assert [(p.price.amount, p.bonus.amount) for p in on_sale] == [
        (1000, 0),
        (1000, 500),
        (3000, 0),
        (3000, 1500),
        (5000, 0),
        (5000, 2500),
        (10000, 0),
    ]
    assert none == []


def test_staff_override_a_figure_and_the_change_is_audited_with_its_rules(client, runtime, consult):
    token = staff_token(client, runtime, consult)
    r = client.patch(
        url(consult, "/settings"),
        json={"settings": {"metering.connection_fee": 99, "orders.commission_percent": "25"}},
        headers=auth(token),
    )
    assert r.status_code == 200, r.text
    got = {f["path"]: f for f in r.json()["figures"]}
    assert got["metering.connection_fee"]["value"] == 99 and got["metering.connection_fee"]["overridden"]
    assert figures(client, consult)["orders.commission_percent"]["value"] == "25"
    with runtime.sessions() as db, db.begin():
        entry = (
            db.query(AuditEntry).filter_by(platform_id=consult.id, action="platform.settings_changed").one()
        )
        assert set(entry.rules) == {"CONSULT-CALL-2", "CONSULT-DJOB-1"}


def test_bad_overrides_name_each_setting_and_change_nothing(client, runtime, consult):
    token = staff_token(client, runtime, consult)
    before = figures(client, consult)
    r = client.patch(
        url(consult, "/settings"),
        json={"settings": {"pack_settings.cut_call_refund_max_minutes": -1}},
        headers=auth(token),
    )
    assert r.status_code == 422, r.text
    assert [e["field"] for e in r.json()["errors"]] == [
        "body.settings.pack_settings.cut_call_refund_max_minutes"
    ]
    r = client.patch(
        url(consult, "/settings"),
        json={"settings": {"pack_settings.no_such_thing": 1, "nowhere.at.all": 2, "pack": "expert"}},
        headers=auth(token),
    )
    assert r.status_code == 422, r.text
    assert {e["field"] for e in r.json()["errors"]} == {
        "body.settings.pack_settings.no_such_thing",
        "body.settings.nowhere.at.all",
        "body.settings.pack",
    }
    r = client.patch(
        url(consult, "/settings"),
        json={"settings": {"scheduling.package_min_minutes": 100}},
        headers=auth(token),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body.settings.scheduling")
    r = client.patch(url(consult, "/settings"), json={"settings": {}}, headers=auth(token))
    assert r.status_code == 422
    r = client.patch(
        url(consult, "/settings"),
        json={"settings": {"orders..x": 1, "orders.commission_percent_by_provider.a\u0000b": "10"}},
        headers=auth(token),
    )
    assert r.status_code == 422 and r.json()["errors"]
    assert all(e["field"].startswith("body.settings") for e in r.json()["errors"])
    r = client.patch(
        url(consult, "/settings"),
        json={
            "settings": {
                "claims.mediation.mediator": {
                    "name": "a\u0000",
                    "address": "x",
                    "website": "https://m.example",
                }
            }
        },
        headers=auth(token),
    )
    assert r.status_code == 422 and r.json()["errors"][0]["field"].startswith("body.settings")
    assert figures(client, consult) == before


def test_only_staff_of_the_platform_override(client, runtime, consult, expert):
    _, headers = session(client, consult)
    body = {"settings": {"pack_settings.cut_call_refund_max_minutes": 1}}
    assert client.patch(url(consult, "/settings"), json=body).status_code == 401
    assert client.patch(url(consult, "/settings"), json=body, headers=headers).status_code == 403
    other_staff = staff_token(client, runtime, expert)
    assert client.patch(url(consult, "/settings"), json=body, headers=auth(other_staff)).status_code == 401
    assert figures(client, consult)["pack_settings.cut_call_refund_max_minutes"]["value"] == 5


def test_EXPERT_RECORD_1_recording_cannot_be_turned_on(client, runtime, expert):
    token = staff_token(client, runtime, expert)
    r = client.patch(
        url(expert, "/settings"),
        json={"settings": {"pack_settings.recording_enabled": True}},
        headers=auth(token),
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "body.settings.pack_settings.recording_enabled"
    assert figures(client, expert)["pack_settings.recording_enabled"]["value"] is False


def test_consult_masters_are_created_by_staff_not_by_self_service(client, runtime, consult):
    r = sign_up(client, consult, "provider", first_name="Irma", last_name="Voyance")
    assert r.status_code == 403, r.text
    token = staff_token(client, runtime, consult)
    r = client.post(
        url(consult, "/staff/users"),
        json={"role": "provider", "email": email(), "password": "correct horse battery staple"},
        headers=auth(token),
    )
    assert r.status_code == 201, r.text


def test_EXPERT_SIGNUP_1_provider_fields_and_attestations(client, runtime, expert):
    r = sign_up(client, expert, "provider", first_name="Zoé")
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"body.last_name", "body.birth_date", "body.landline", "body.category", "body.status"} <= fields
    r = sign_up(client, expert, "provider", **{**EXPERT_PROVIDER, "attestations": ["adult"]})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "body.attestations"
    assert "EXPERT-SIGNUP-1" in r.json()["rules"]
    young = {
        **EXPERT_PROVIDER,
        "birth_date": (runtime.clock.now() - timedelta(days=17 * 365)).date().isoformat(),
    }
    assert sign_up(client, expert, "provider", **young).status_code == 422
    r = sign_up(client, expert, "provider", **EXPERT_PROVIDER)
    assert r.status_code == 201, r.text
    with runtime.sessions() as db, db.begin():
        entry = db.query(AuditEntry).filter_by(platform_id=expert.id, action="accounts.attested").one()
        assert entry.data["attestations"] == ["adult", "insured"] and "EXPERT-SIGNUP-1" in entry.rules


def test_EXPERT_SIGNUP_2_client_names_are_required(client, expert):
    r = sign_up(client, expert)
    assert r.status_code == 422
    assert {e["field"] for e in r.json()["errors"]} == {"body.first_name", "body.last_name"}
    assert sign_up(client, expert, first_name="Inès", last_name="Moreau").status_code == 201


def test_two_platforms_with_different_packs_never_see_each_others_data(client, runtime, consult, expert):
    address = email()
    r = sign_up(client, consult, email=address)
    assert r.status_code == 201
    assert login(client, expert, address).status_code == 401
    r = login(client, consult, address)
    token = r.json()["token"]
    assert client.get(url(expert, "/me"), headers=auth(token)).status_code == 401
    staff = staff_token(client, runtime, consult)
    client.patch(
        url(consult, "/settings"),
        json={"settings": {"pack_settings.cut_call_refund_max_minutes": 7}},
        headers=auth(staff),
    )
    assert "pack_settings.cut_call_refund_max_minutes" not in figures(client, expert)
    assert figures(client, consult)["pack_settings.cut_call_refund_max_minutes"]["value"] == 7


# --- CONSULT-CALL-4 through the claims module ------------------------------------------------------


def _call_facts(db, platform_id: str, subject_id: str) -> SubjectFacts | None:
    try:
        view = processes.get_instance(db, platform_id, subject_id)
    except NotFound:
        return None
    d = view.data
    from datetime import datetime

    return SubjectFacts(
        reference_at=datetime.fromisoformat(d["ended_at"]),
        parties=frozenset({d["client_id"]}),
        paid=Money(d["paid"]),
        received_by=d["received_by"],
        refund_to=d["refund_to"],
        payer_id=d["client_id"],
        duration_seconds=d["duration_seconds"],
    )


register_subject("test_call", _call_facts)


def _call(runtime, platform, client_id: str, seconds: int) -> tuple[str, str]:
    now = runtime.clock.now()
    with runtime.sessions() as db, db.begin():
        psp = ledger.get_or_open_account(db, platform_id=platform.id, type=AccountType.PSP_CLEARING, now=now)
        credit = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.CLIENT_CREDIT, owner_id=client_id, now=now
        )
        revenue = ledger.get_or_open_account(
            db, platform_id=platform.id, type=AccountType.PLATFORM_REVENUE, now=now
        )
        view = processes.start(
            db,
            platform.id,
            "test-service",
            ProcessActor.system(),
            {
                "client_id": client_id,
                "ended_at": now.isoformat(),
                "paid": 2000,
                "received_by": revenue.id,
                "refund_to": credit.id,
                "duration_seconds": seconds,
            },
            now,
        )
        ledger.post_transaction(
            db,
            platform_id=platform.id,
            transfers=[
                Transfer(psp.id, credit.id, Money(2000)),
                Transfer(credit.id, revenue.id, Money(2000)),
            ],
            idempotency_key=f"test-call:{view.id}",
            code="test.paid",
            rules=["CONSULT-CALL-1"],
            cause=("test-service", view.id),
            now=now,
        )
    return view.id, credit.id


@pytest.mark.parametrize(("seconds", "refunded"), [(300, True), (301, False)])
def test_CONSULT_CALL_4_a_cut_call_is_refunded_only_up_to_five_minutes(client, runtime, seconds, refunded):
    platform = pack_platform(
        runtime, "consult", {"claims": {"kinds": {"test_call": {"preset": "consult-consultation"}}}}
    )
    client_id, headers = session(client, platform)
    subject_id, credit = _call(runtime, platform, client_id, seconds)
    r = client.post(
        url(platform, "/claims"),
        json={
            "kind": "test_call",
            "subject_id": subject_id,
            "name": "Claire Martin",
            "contact": "06 12 34 56 78",
            "pseudonym": "claire",
            "object": "cut_call",
        },
        headers=headers,
    )
    assert r.status_code == 201, r.text
    claim_id = r.json()["id"]
    staff = auth(staff_token(client, runtime, platform))
    r = client.post(
        url(platform, f"/claims/{claim_id}/answer"),
        json={
            "decision": "accepted",
            "reasons": "appel coupé",
            "refund": {"amount": 2000, "currency": "EUR"},
        },
        headers=staff,
    )
    with runtime.sessions() as db, db.begin():
        balance = ledger.balance(db, platform_id=platform.id, account_id=credit).total.amount
    if refunded:
        assert r.status_code == 200, r.text
        assert balance == 2000
    else:
        assert r.status_code == 422, r.text
        assert r.json()["rules"] == ["CONSULT-CALL-4"] and r.json()["errors"][0]["field"] == "body.refund"
        assert balance == 0
        assert client.get(url(platform, f"/claims/{claim_id}"), headers=staff).json()["state"] != "answered"


def test_CONSULT_SANCTION_1_a_formal_notice_gives_thirty_days_by_email(client, runtime, consult):
    master_id = str(uuid.uuid4())
    staff = auth(staff_token(client, runtime, consult))
    r = client.post(
        url(consult, "/staff/users"),
        json={"role": "provider", "email": email(), "password": "correct horse battery staple"},
        headers=staff,
    )
    master_id = r.json()["id"]
    r = client.post(
        url(consult, "/staff/consult/formal-notices"),
        json={"user_id": master_id, "grievances": "Appels écourtés à répétition."},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    assert r.json()["rules"] == ["CONSULT-SANCTION-1"]
    due = r.json()["remedy_due"]
    assert due.startswith((runtime.clock.now() + timedelta(days=30)).date().isoformat())
    with runtime.sessions() as db, db.begin():
        msg = (
            db.query(OutboxMessage).filter_by(platform_id=consult.id, template="consult.formal_notice").one()
        )
        assert msg.user_id == master_id
    bad = client.post(
        url(consult, "/staff/consult/formal-notices"),
        json={"user_id": master_id, "grievances": "  "},
        headers=staff,
    )
    assert bad.status_code == 422


def test_cli_pack_list_platform_create_with_pack_and_demo_load(
    monkeypatch, database_url, migrated_engine, runtime
):
    from entremise.config import get_settings

    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        out = runner.invoke(cli, ["pack", "list"])
        assert out.exit_code == 0 and "consult" in out.output and "EXPERT-PRICE-3" in out.output
        slug = f"c-{uuid.uuid4().hex[:8]}"
        out = runner.invoke(cli, ["platform", "create", slug, "Consult test", "--pack", "consult"])
        assert out.exit_code == 0, out.output
        with runtime.sessions() as db, db.begin():
            assert platforms.get_by_slug(db, slug).settings.pack == "consult"
        out = runner.invoke(cli, ["platform", "create", f"x-{slug}", "X", "--pack", "nope"])
        assert out.exit_code == 1 and "no pack" in out.output
        for pack in ("consult", "expert"):
            demo_slug = f"d-{pack}-{uuid.uuid4().hex[:8]}"
            out = runner.invoke(cli, ["demo", "load", pack, "--platform", demo_slug])
            assert out.exit_code == 0, out.output
            assert out.output.count("created ") == 5  # the platform and four accounts
            again = runner.invoke(cli, ["demo", "load", pack, "--platform", demo_slug])
            assert (
                again.exit_code == 0 and "created" not in again.output and again.output.count("exists") == 4
            )
        out = runner.invoke(cli, ["demo", "load", "expert", "--platform", slug])
        assert out.exit_code == 1 and "does not run the pack" in out.output
    finally:
        get_settings.cache_clear()


def test_concurrent_overrides_of_different_figures_both_survive(client, runtime, consult):
    from concurrent.futures import ThreadPoolExecutor

    token = auth(staff_token(client, runtime, consult))
    changes = [
        {f"pack_settings.{name}": value}
        for name, value in (
            ("review_min_minutes", 4),
            ("review_window_days", 30),
            ("sanction_remedy_days", 15),
            ("inactivity_months", 18),
            ("outage_refund_within_days", 20),
            ("package_unused_notice_months", 3),
        )
    ]
    with ThreadPoolExecutor(max_workers=6) as pool:
        codes = list(
            pool.map(
                lambda c: (
                    client.patch(url(consult, "/settings"), json={"settings": c}, headers=token).status_code
                ),
                changes,
            )
        )
    assert codes == [200] * 6
    got = figures(client, consult)
    for change in changes:
        ((path, value),) = change.items()
        assert got[path]["value"] == value, path
