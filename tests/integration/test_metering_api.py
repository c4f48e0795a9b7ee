"""Metered sessions through the real HTTP app and the sandbox provider's signed webhooks."""

from __future__ import annotations

import json
from datetime import timedelta

from accounts_helpers import auth, problem_body, staff_token, url, user_session
from metering_helpers import (
    LANDLINE,
    consult_platform,
    deliver,
    expert_platform,
    funded_client,
    move,
    provider,
    reference_of,
    run_timers,
    start,
)
from money_helpers import balance
from sqlalchemy import func, select

from entremise.kernel import signing
from entremise.ledger.domain import AccountType
from entremise.metering.models import CallEventRow, MeteredSession
from entremise.notify.models import OutboxMessage
from entremise.telephony.models import SandboxWebhook
from entremise.telephony.sandbox import webhook_secret


def session(client, platform, token, sid):
    r = client.get(url(platform, f"/metering/sessions/{sid}"), headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def statement(client, platform, token, sid):
    r = client.get(url(platform, f"/metering/sessions/{sid}/statement"), headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def money_total(runtime, platform, client_id, provider_id):
    """Everything this session's money can sit on: conserved across the flow."""
    credit, _ = balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)
    wallet, _ = balance(runtime, platform, AccountType.PROVIDER_WALLET, provider_id)
    revenue, _ = balance(runtime, platform, AccountType.PLATFORM_REVENUE)
    fees, _ = balance(runtime, platform, AccountType.PLATFORM_FEES)
    vat, _ = balance(runtime, platform, AccountType.VAT_COLLECTED)
    return credit, wallet, revenue, fees, vat


def test_full_call_is_rated_settled_in_one_transaction_and_itemised(runtime, client, clock):
    """CONSULT-CALL-1, CONSULT-CALL-2, CONSULT-CALL-3: 2 €/min, 1.25 € per call, 0.10 €/min to a mobile."""
    platform = consult_platform(runtime)
    provider_id, ptoken = provider(client, platform, rate=200, phone="+33611223344")
    client_id, ctoken = funded_client(client, runtime, platform, 10_000)
    r = start(
        client, platform, ctoken, provider_id, budget=3000, sandbox={"answer_after": 5, "duration": 130}
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert s["state"] == "connecting" and s["to_mobile"] is True
    # 3000 = 1.25 € + n × 2.10 €: 13 minutes (28.55 €)
    assert s["max_seconds"] == 13 * 60
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (10_000, 7_000)
    sid = s["id"]
    assert deliver(runtime, client, sid, move(clock, 5)) == 1
    assert session(client, platform, ctoken, sid)["state"] == "live"
    assert deliver(runtime, client, sid, move(clock, 130)) == 1
    done = session(client, platform, ctoken, sid)
    assert done["state"] == "ended" and done["billed_seconds"] == 130
    total = 125 + 3 * 200 + 3 * 10
    assert done["total"] == {"amount": total, "currency": "EUR"}
    st = statement(client, platform, ctoken, sid)
    assert [(line["code"], line["amount"], line["rules"]) for line in st["lines"]] == [
        ("connection_fee", 125, ["CONSULT-CALL-2"]),
        ("minutes", 600, ["CONSULT-CALL-1"]),
        ("mobile_surcharge", 30, ["CONSULT-CALL-3"]),
    ]
    assert st["total"] == total and "split" not in st  # the client does not see the provider's share
    pst = statement(client, platform, ptoken, sid)
    split = pst["split"]
    assert split["provider"] + split["platform"] + split["vat"] == total
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (
        10_000 - total,
        10_000 - total,
    )
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, provider_id)[0] == split["provider"]
    assert balance(runtime, platform, AccountType.VAT_COLLECTED)[0] == split["vat"] == st["vat"]["amount"]


def test_landline_has_no_mobile_surcharge(runtime, client, clock):
    """CONSULT-CALL-3: only calls redirected to a mobile pay the surcharge."""
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform, phone=LANDLINE)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(client, platform, ctoken, provider_id, sandbox={"answer_after": 0, "duration": 60}).json()
    assert s["to_mobile"] is False
    deliver(runtime, client, s["id"], clock.now())
    deliver(runtime, client, s["id"], move(clock, 60))
    assert session(client, platform, ctoken, s["id"])["total"]["amount"] == 125 + 200


def test_CONSULT_GIFT_1_free_minutes_on_the_first_consultation_only(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform, free_minutes=10)
    _, ctoken = funded_client(client, runtime, platform)
    first = start(
        client, platform, ctoken, provider_id, sandbox={"answer_after": 0, "duration": 8 * 60}
    ).json()
    deliver(runtime, client, first["id"], clock.now())
    deliver(runtime, client, first["id"], move(clock, 8 * 60))
    st = statement(client, platform, ctoken, first["id"])
    assert st["total"] == 0 and [line["rules"] for line in st["lines"]] == [["CONSULT-GIFT-1"]]
    second = start(client, platform, ctoken, provider_id, sandbox={"answer_after": 0, "duration": 60}).json()
    deliver(runtime, client, second["id"], clock.now())
    deliver(runtime, client, second["id"], move(clock, 60))
    assert statement(client, platform, ctoken, second["id"])["total"] == 325


def test_no_answer_releases_the_budget(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    client_id, ctoken = funded_client(client, runtime, platform, 5000)
    s = start(
        client, platform, ctoken, provider_id, sandbox={"outcome": "no_answer", "answer_after": 30}
    ).json()
    deliver(runtime, client, s["id"], move(clock, 30))
    done = session(client, platform, ctoken, s["id"])
    assert done["state"] == "no_show" and done["total"]["amount"] == 0
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (5000, 5000)
    assert statement(client, platform, ctoken, s["id"])["lines"] == []


def test_ring_timeout_ends_a_call_nobody_reported(runtime, client, clock):
    platform = consult_platform(runtime, ring_timeout_seconds=45)
    provider_id, _ = provider(client, platform)
    client_id, ctoken = funded_client(client, runtime, platform, 5000)
    s = start(client, platform, ctoken, provider_id, sandbox={"answer_after": 600}).json()
    run_timers(runtime, platform, move(clock, 45))
    assert session(client, platform, ctoken, s["id"])["state"] == "no_show"
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)[1] == 5000
    with runtime.sessions() as db:  # the line was hung up: the sandbox's answer is cancelled
        statuses = set(
            db.scalars(
                select(SandboxWebhook.status).where(
                    SandboxWebhook.reference == reference_of(runtime, s["id"])
                )
            )
        )
    assert "cancelled" in statuses


def test_dropped_call_is_billed_for_what_was_said(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(
        client, platform, ctoken, provider_id, sandbox={"outcome": "drop", "answer_after": 2, "duration": 95}
    ).json()
    deliver(runtime, client, s["id"], move(clock, 2))
    deliver(runtime, client, s["id"], move(clock, 95))
    done = session(client, platform, ctoken, s["id"])
    assert done["state"] == "ended" and done["billed_seconds"] == 95
    assert done["total"]["amount"] == 125 + 2 * 200
    with runtime.sessions() as db:
        row = db.get(MeteredSession, s["id"])
        assert row is not None and row.end_status == "dropped"


def test_duplicate_webhooks_change_nothing(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    client_id, ctoken = funded_client(client, runtime, platform)
    s = start(
        client, platform, ctoken, provider_id, sandbox={"answer_after": 0, "duration": 60, "duplicate": True}
    ).json()
    assert deliver(runtime, client, s["id"], clock.now()) == 2
    assert deliver(runtime, client, s["id"], move(clock, 60)) == 2
    assert session(client, platform, ctoken, s["id"])["total"]["amount"] == 325
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)[0] == 10_000 - 325
    with runtime.sessions() as db:
        assert (
            db.scalar(
                select(func.count()).select_from(CallEventRow).where(CallEventRow.session_id == s["id"])
            )
            == 2
        )


def test_out_of_order_late_answer_after_end_still_bills_right(runtime, client, clock):
    """The end is delivered before the answer; the bill uses the events' own times."""
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(
        client, platform, ctoken, provider_id, sandbox={"answer_after": 10, "duration": 150, "reverse": True}
    ).json()
    deliver(runtime, client, s["id"], move(clock, 10))  # the end arrives first
    assert session(client, platform, ctoken, s["id"])["state"] == "connecting"
    run_timers(runtime, platform, move(clock, 60))  # the ring timeout does not close it: an end was reported
    assert session(client, platform, ctoken, s["id"])["state"] == "connecting"
    deliver(runtime, client, s["id"], move(clock, 90))  # then the answer
    done = session(client, platform, ctoken, s["id"])
    assert done["state"] == "ended" and done["billed_seconds"] == 150
    assert done["total"]["amount"] == 125 + 3 * 200


def test_forged_webhook_is_refused_and_changes_nothing(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(client, platform, ctoken, provider_id).json()
    body = json.dumps(
        {
            "id": "evt_forged",
            "type": "call.answered",
            "reference": reference_of(runtime, s["id"]),
            "occurred_at": clock.now().isoformat(),
        }
    ).encode()
    path = "/api/v1/telephony/webhooks/sandbox"
    for header in (signing.sign("not-the-secret", body, clock.now()), None, "t=1,v1=zz"):
        headers = {"Content-Type": "application/json"}
        if header:
            headers[signing.HEADER] = header
        r = client.post(path, content=body, headers=headers)
        assert r.status_code == 401, r.text
        assert r.headers["content-type"].startswith("application/problem+json")
    stale = signing.sign(webhook_secret(runtime.settings.secret_key), body, clock.now() - timedelta(hours=1))
    assert client.post(path, content=body, headers={signing.HEADER: stale}).status_code == 401
    assert session(client, platform, ctoken, s["id"])["state"] == "connecting"
    # the right signature on the same body is accepted
    good = signing.sign(webhook_secret(runtime.settings.secret_key), body, clock.now())
    assert client.post(path, content=body, headers={signing.HEADER: good}).status_code == 200
    assert session(client, platform, ctoken, s["id"])["state"] == "live"


def _post_event(runtime, client, clock, event: dict):
    body = json.dumps(event).encode()
    header = signing.sign(webhook_secret(runtime.settings.secret_key), body, clock.now())
    return client.post("/api/v1/telephony/webhooks/sandbox", content=body, headers={signing.HEADER: header})


def test_events_for_unknown_or_finished_sessions_are_refused(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    _, ctoken = funded_client(client, runtime, platform)
    now = clock.now().isoformat()
    r = _post_event(
        runtime,
        client,
        clock,
        {"id": "evt_x1", "type": "call.answered", "reference": "sbx_nope", "occurred_at": now},
    )
    assert r.status_code == 404
    r = _post_event(
        runtime,
        client,
        clock,
        {"id": "evt_x2", "type": "call.exploded", "reference": "sbx_nope", "occurred_at": now},
    )
    assert r.status_code == 422 and problem_body(r)["errors"][0]["field"] == "body"
    s = start(
        client, platform, ctoken, provider_id, sandbox={"outcome": "no_answer", "answer_after": 1}
    ).json()
    deliver(runtime, client, s["id"], move(clock, 1))
    ref = reference_of(runtime, s["id"])
    r = _post_event(
        runtime,
        client,
        clock,
        {"id": "evt_x3", "type": "call.answered", "reference": ref, "occurred_at": now},
    )
    assert r.status_code == 409
    assert session(client, platform, ctoken, s["id"])["state"] == "no_show"


def test_budget_exhaustion_warns_then_cuts_the_call(runtime, client, clock):
    """The client never owes more than the budget: warned a minute before, cut at the end."""
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform, rate=200)
    client_id, ctoken = funded_client(client, runtime, platform, 10_000)
    # 925 = 1.25 € + 4 minutes at 2 €
    s = start(
        client, platform, ctoken, provider_id, budget=925, sandbox={"answer_after": 0, "duration": 3600}
    ).json()
    assert s["max_seconds"] == 240
    deliver(runtime, client, s["id"], clock.now())
    run_timers(runtime, platform, move(clock, 180))
    with runtime.sessions() as db:
        warned = db.scalars(
            select(OutboxMessage).where(
                OutboxMessage.platform_id == platform.id, OutboxMessage.template == "metering.ending_soon"
            )
        ).all()
    assert len(warned) == 1
    assert session(client, platform, ctoken, s["id"])["state"] == "live"
    run_timers(runtime, platform, move(clock, 60))
    done = session(client, platform, ctoken, s["id"])
    assert done["state"] == "ended" and done["billed_seconds"] == 240 and done["total"]["amount"] == 925
    # the sandbox's own end (an hour later) was cancelled; the hang-up's end is ignored
    assert deliver(runtime, client, s["id"], clock.now()) == 1
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)[0] == 10_000 - 925


def test_client_hangs_up(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, ptoken = provider(client, platform)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(client, platform, ctoken, provider_id, sandbox={"answer_after": 0, "duration": 3600}).json()
    deliver(runtime, client, s["id"], clock.now())
    move(clock, 61)
    r = client.post(url(platform, f"/metering/sessions/{s['id']}/hang-up"), headers=auth(ctoken))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "ended" and r.json()["total"]["amount"] == 125 + 400
    r = client.post(url(platform, f"/metering/sessions/{s['id']}/hang-up"), headers=auth(ptoken))
    assert r.status_code == 409


def test_cancel_while_ringing_gives_the_budget_back(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    client_id, ctoken = funded_client(client, runtime, platform, 5000)
    s = start(client, platform, ctoken, provider_id, sandbox={"answer_after": 30}).json()
    r = client.post(url(platform, f"/metering/sessions/{s['id']}/hang-up"), headers=auth(ctoken))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (5000, 5000)


def test_money_is_conserved_and_settling_is_idempotent(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, _ = provider(client, platform)
    client_id, ctoken = funded_client(client, runtime, platform, 10_000)
    before = sum(money_total(runtime, platform, client_id, provider_id))
    s = start(
        client, platform, ctoken, provider_id, sandbox={"answer_after": 0, "duration": 200, "duplicate": True}
    ).json()
    deliver(runtime, client, s["id"], clock.now())
    deliver(runtime, client, s["id"], move(clock, 200))
    after = money_total(runtime, platform, client_id, provider_id)
    assert sum(after) == before
    # a replay of every delivery (a retry after a crash) moves nothing more
    with runtime.sessions() as db, db.begin():
        for row in db.scalars(
            select(SandboxWebhook).where(SandboxWebhook.reference == reference_of(runtime, s["id"]))
        ):
            row.status = "pending"
    deliver(runtime, client, s["id"], clock.now())
    assert money_total(runtime, platform, client_id, provider_id) == after


def test_EXPERT_FEE_1_and_EXPERT_PRICE_4_on_an_expert_platform(runtime, client, clock):
    platform = expert_platform(runtime)
    provider_id, ptoken = provider(client, platform, rate=300, phone=LANDLINE)
    client_id, ctoken = funded_client(client, runtime, platform, 20_000)
    s = start(
        client, platform, ctoken, provider_id, budget=20_000, sandbox={"answer_after": 0, "duration": 7200}
    ).json()
    assert s["budget"]["amount"] == 5000 and s["max_seconds"] == 16 * 60  # EXPERT-PRICE-4: 50 € at most
    deliver(runtime, client, s["id"], clock.now())
    run_timers(runtime, platform, move(clock, 16 * 60))
    st = statement(client, platform, ptoken, s["id"])
    assert st["total"] == 4800 and st["lines"][0]["rules"] == ["EXPERT-PRICE-1"]
    assert st["split"]["provider"] == 4500 and st["split"]["platform"] + st["split"]["vat"] == 300
    assert "EXPERT-FEE-1" in st["rules"]
    assert balance(runtime, platform, AccountType.PLATFORM_FEES)[0] == 250
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)[0] == 20_000 - 4800


def test_EXPERT_PRICE_3_package_a_third_honoured(runtime, client, clock):
    platform = expert_platform(runtime)
    provider_id, _ = provider(client, platform, rate=300, packages=[(15, 7500)])
    client_id, ctoken = funded_client(client, runtime, platform, 10_000)
    s = start(
        client,
        platform,
        ctoken,
        provider_id,
        budget=None,
        package_minutes=15,
        sandbox={"answer_after": 0, "duration": 240},
    ).json()
    assert s["kind"] == "package" and s["max_seconds"] == 900
    deliver(runtime, client, s["id"], clock.now())
    deliver(runtime, client, s["id"], move(clock, 240))
    st = statement(client, platform, ctoken, s["id"])
    assert st["total"] == 2500 and st["lines"][0]["rules"] == ["EXPERT-PRICE-2", "EXPERT-PRICE-3"]
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id)[0] == 7500


def test_video_session_from_participant_events(runtime, client, clock):
    platform = expert_platform(runtime)
    provider_id, _ = provider(client, platform, rate=300)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(
        client,
        platform,
        ctoken,
        provider_id,
        mode="video",
        budget=3000,
        sandbox={"answer_after": 20, "duration": 100},
    ).json()
    assert set(s["join_urls"]) == {"client", "provider"}
    deliver(runtime, client, s["id"], clock.now())
    assert session(client, platform, ctoken, s["id"])["state"] == "connecting"
    deliver(runtime, client, s["id"], move(clock, 20))
    assert session(client, platform, ctoken, s["id"])["state"] == "live"
    deliver(runtime, client, s["id"], move(clock, 100))
    done = session(client, platform, ctoken, s["id"])
    assert done["state"] == "ended" and done["billed_seconds"] == 100 and done["total"]["amount"] == 600


def test_bad_input_is_refused_and_nothing_changes(runtime, client, clock):
    """A package outside 5-90 minutes (EXPERT-PRICE-2), a budget below one minute's price."""
    platform = consult_platform(runtime)
    provider_id, ptoken = provider(client, platform, packages=[(15, 7500)])
    client_id, ctoken = funded_client(client, runtime, platform, 5000)
    r = start(client, platform, ctoken, provider_id, budget=300)
    assert r.status_code == 422 and problem_body(r)["errors"][0]["field"] == "body.budget"
    r = start(client, platform, ctoken, provider_id, budget=None, package_minutes=95)
    assert r.status_code == 422 and problem_body(r)["errors"][0]["field"] == "body.package_minutes"
    assert "EXPERT-PRICE-2" in problem_body(r)["rules"]
    r = start(client, platform, ctoken, provider_id, phone="not a phone")
    assert r.status_code == 422 and problem_body(r)["errors"][0]["field"] == "body.phone"
    r = start(client, platform, ctoken, provider_id, budget="3000")
    assert r.status_code == 422
    r = start(client, platform, ctoken, provider_id, sandbox={"outcome": "explode"})
    assert r.status_code == 422
    r = client.put(
        url(platform, f"/metering/tariffs/{provider_id}"),
        json={"rate_per_minute": 200, "packages": [{"minutes": 4, "price": 100}]},
        headers=auth(ptoken),
    )
    assert r.status_code == 422 and problem_body(r)["errors"][0]["field"] == "body.packages[0].minutes"
    r = start(client, platform, ctoken, provider_id, budget=20_000)
    assert r.status_code == 409  # more than the credit
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (5000, 5000)
    with runtime.sessions() as db:
        assert (
            db.scalar(
                select(func.count())
                .select_from(MeteredSession)
                .where(MeteredSession.platform_id == platform.id)
            )
            == 0
        )


def test_others_sessions_are_invisible_and_untouchable(runtime, client, clock):
    platform = consult_platform(runtime)
    provider_id, ptoken = provider(client, platform)
    _, ctoken = funded_client(client, runtime, platform)
    s = start(client, platform, ctoken, provider_id).json()
    _, _, other = user_session(client, platform)
    for path in (f"/metering/sessions/{s['id']}", f"/metering/sessions/{s['id']}/statement"):
        assert client.get(url(platform, path), headers=auth(other)).status_code == 404
    assert (
        client.post(url(platform, f"/metering/sessions/{s['id']}/hang-up"), headers=auth(other)).status_code
        == 404
    )
    listed = client.get(url(platform, "/metering/sessions"), headers=auth(other)).json()
    assert listed["items"] == []
    assert [
        x["id"] for x in client.get(url(platform, "/metering/sessions"), headers=auth(ptoken)).json()["items"]
    ] == [s["id"]]
    # another platform's staff do not see it either
    elsewhere = consult_platform(runtime)
    staff = staff_token(client, runtime, elsewhere)
    assert client.get(url(elsewhere, f"/metering/sessions/{s['id']}"), headers=auth(staff)).status_code == 404
    # a provider does not set another provider's tariff, nor their own commission
    other_provider, otoken = provider(client, platform)
    r = client.put(
        url(platform, f"/metering/tariffs/{provider_id}"), json={"rate_per_minute": 1}, headers=auth(otoken)
    )
    assert r.status_code == 403
    r = client.put(
        url(platform, f"/metering/tariffs/{other_provider}"),
        json={"rate_per_minute": 1, "commission_percent": "1"},
        headers=auth(otoken),
    )
    assert r.status_code == 403
    staff_here = staff_token(client, runtime, platform)
    r = client.put(
        url(platform, f"/metering/tariffs/{other_provider}"),
        json={"rate_per_minute": 250, "commission_percent": "25.5", "phone": LANDLINE},
        headers=auth(staff_here),
    )
    assert r.status_code == 200 and r.json()["commission_percent"] == "25.5"
    assert (
        client.get(url(platform, f"/metering/sessions/{s['id']}"), headers=auth(staff_here)).status_code
        == 200
    )
