"""Wallets over HTTP: my wallet and its movements, packs, purchases, promo codes; staff routes;
only the owner sees their wallet; bad input is a problem naming the field."""

from __future__ import annotations

from datetime import timedelta

from accounts_helpers import auth, staff_token, url, user_session
from payments_helpers import RETURN_URL, clearing, deliver, key
from wallets_helpers import buy, make_platform, packs

from entremise.payments.testdata import CARD_DECLINED, CARD_SUCCEEDS


def test_CONSULT_CREDIT_1_my_wallet_after_buying_a_pack(client, runtime, platform) -> None:
    user, _, token = user_session(client, platform)
    all_packs = packs(runtime, platform)
    r = client.get(url(platform, "/credit-packs"), headers=auth(token))
    assert r.status_code == 200
    assert [(p["price"], p["bonus"], p["credited"]) for p in r.json()][:2] == [
        (1000, 0, 1000),
        (1000, 500, 1500),
    ]
    buy(runtime, platform, user, all_packs[1].id)
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert (w["paid"], w["bonus"], w["available"], w["held"]) == (1000, 500, 1500, 0)
    assert w["spending_order"] == ["bonus", "paid"]
    r = client.get(url(platform, "/me/pack-purchases"), headers=auth(token))
    assert [p["status"] for p in r.json()["items"]].count("paid") == 1
    page = client.get(url(platform, "/me/wallet/movements?limit=1"), headers=auth(token)).json()
    assert len(page["items"]) == 1 and page["next_cursor"]
    rest = client.get(
        url(platform, f"/me/wallet/movements?cursor={page['next_cursor']}"), headers=auth(token)
    ).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    assert {m["rules"][0] for m in page["items"] + rest["items"]} == {"CONSULT-CREDIT-1"}


def test_only_the_owner_sees_their_wallet(client, runtime, platform) -> None:
    owner, _, _owner_token = user_session(client, platform)
    _other, _, other_token = user_session(client, platform)
    p = buy(runtime, platform, owner, packs(runtime, platform)[0].id)
    assert client.get(url(platform, "/me/wallet"), headers=auth(other_token)).json()["available"] == 0
    assert (
        client.get(url(platform, f"/me/pack-purchases/{p.id}"), headers=auth(other_token)).status_code == 404
    )
    assert client.get(url(platform, f"/wallets/{owner}"), headers=auth(other_token)).status_code == 403
    assert client.get(url(platform, "/me/wallet")).status_code == 401
    staff = staff_token(client, runtime, platform)
    assert client.get(url(platform, f"/wallets/{owner}"), headers=auth(staff)).json()["paid"] == 1000
    # another platform's staff does not see it either
    other = make_platform(runtime)
    other_staff = staff_token(client, runtime, other)
    assert client.get(url(other, f"/wallets/{owner}"), headers=auth(other_staff)).json()["paid"] == 0
    assert (
        client.post(url(other, f"/pack-purchases/{p.id}/refund"), headers=auth(other_staff)).status_code
        == 404
    )


def test_staff_manage_packs_and_clients_see_only_active_ones(client, runtime, platform) -> None:
    staff = staff_token(client, runtime, platform)
    _user, _, token = user_session(client, platform)
    r = client.post(
        url(platform, "/wallet-packs"),
        json={"name": "Découverte", "price": 2000, "bonus": 200},
        headers=auth(staff),
    )
    assert r.status_code == 201, r.text
    pack = r.json()
    r = client.patch(
        url(platform, f"/wallet-packs/{pack['id']}"), json={"active": False}, headers=auth(staff)
    )
    assert r.status_code == 200 and r.json()["active"] is False
    assert client.get(url(platform, "/credit-packs"), headers=auth(token)).json() == []
    assert len(client.get(url(platform, "/wallet-packs"), headers=auth(staff)).json()) == 1
    r = client.post(
        url(platform, "/me/pack-purchases"),
        json={"pack_id": pack["id"], "card": {"token": CARD_SUCCEEDS}, "return_url": RETURN_URL},
        headers={**auth(token), **key()},
    )
    assert r.status_code == 404
    assert (
        client.post(
            url(platform, "/wallet-packs"), json={"name": "x", "price": 1}, headers=auth(token)
        ).status_code
        == 403
    )


def test_pack_bad_input_is_a_problem_naming_the_field(client, runtime, platform) -> None:
    staff = staff_token(client, runtime, platform)
    for body, field in [
        ({"name": "x", "price": 0}, "body.price"),
        ({"name": "x", "price": "10"}, "body.price"),
        ({"name": "x", "price": 10.5}, "body.price"),
        ({"name": "", "price": 100}, "body.name"),
        ({"name": "x", "price": 100, "bonus": -1}, "body.bonus"),
        ({"name": "x", "price": 100, "currency": "XXX"}, "body.currency"),
        ({"name": "x", "price": 100, "extra": 1}, "body.extra"),
    ]:
        r = client.post(url(platform, "/wallet-packs"), json=body, headers=auth(staff))
        assert r.status_code == 422, (body, r.text)
        assert field in [e["field"] for e in r.json()["errors"]], (body, r.json())
    assert client.get(url(platform, "/wallet-packs"), headers=auth(staff)).json() == []


def test_CARPOOL_PROMO_1_redeem_over_http(client, runtime, platform, clock) -> None:
    staff = staff_token(client, runtime, platform)
    _user, _, token = user_session(client, platform)
    now = clock.now()
    body = {
        "code": "bienvenue",
        "value": 300,
        "starts_at": (now - timedelta(hours=1)).isoformat(),
        "ends_at": (now + timedelta(days=30)).isoformat(),
        "max_uses": 100,
        "condition": "new_client",
        "conditions_text": "Offre de bienvenue",
    }
    r = client.post(url(platform, "/promo-codes"), json=body, headers=auth(staff))
    assert r.status_code == 201, r.text
    assert r.json()["code"] == "BIENVENUE" and "Offre de bienvenue" in r.json()["conditions"]
    r = client.post(url(platform, "/me/promo-redemptions"), json={"code": "Bienvenue"}, headers=auth(token))
    assert r.status_code == 201, r.text
    assert r.json()["value"] == 300 and r.json()["conditions"]
    r = client.post(url(platform, "/me/promo-redemptions"), json={"code": "BIENVENUE"}, headers=auth(token))
    assert r.status_code == 409 and "CARPOOL-PROMO-1" in r.json()["rules"]
    assert client.get(url(platform, "/me/wallet"), headers=auth(token)).json()["bonus"] == 300
    assert client.get(url(platform, "/promo-codes"), headers=auth(staff)).json()[0]["uses"] == 1
    assert (
        client.post(
            url(platform, "/me/promo-redemptions"), json={"code": "NOPE"}, headers=auth(token)
        ).status_code
        == 404
    )
    r = client.post(
        url(platform, "/promo-codes"),
        json={**body, "code": "late", "ends_at": body["starts_at"]},
        headers=auth(staff),
    )
    assert r.status_code == 422 and [e["field"] for e in r.json()["errors"]] == ["body.ends_at"]
    r = client.post(
        url(platform, "/promo-codes"),
        json={**body, "code": "naive", "starts_at": "2026-11-01T00:00:00"},
        headers=auth(staff),
    )
    assert r.status_code == 422 and "body.starts_at" in [e["field"] for e in r.json()["errors"]]


def test_staff_refund_a_pack(client, runtime, platform) -> None:
    staff = staff_token(client, runtime, platform)
    user, _, token = user_session(client, platform)
    p = buy(runtime, platform, user, packs(runtime, platform)[3].id)  # 30 € + 15 €
    r = client.post(url(platform, f"/pack-purchases/{p.id}/refund"), headers=auth(staff))
    assert r.status_code == 200, r.text
    assert (r.json()["cash"], r.json()["bonus_withdrawn"]) == (3000, 1500)
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert (w["available"], w["refund_due"]) == (0, 3000)
    assert (
        client.post(url(platform, f"/pack-purchases/{p.id}/refund"), headers=auth(staff)).status_code == 409
    )


def _buy_by_card(client, platform, token, pack_id, card=CARD_SUCCEEDS, headers=None):  # type: ignore[no-untyped-def]
    return client.post(
        url(platform, "/me/pack-purchases"),
        json={"pack_id": pack_id, "card": {"token": card}, "return_url": RETURN_URL},
        headers={**auth(token), **(headers or key())},
    )


def test_CONSULT_CREDIT_1_buy_a_pack_by_card_then_refund_it_to_the_card(client, runtime, platform) -> None:
    """The sandbox confirms the pay-in by webhook: price to paid credit, bonus to bonus credit; the
    staff refund sets the price aside and the provider's confirmation sends it to the card."""
    staff = staff_token(client, runtime, platform)
    _user, _, token = user_session(client, platform)
    pack = packs(runtime, platform)[1]  # 10 € + 5 €
    headers = key()
    r = _buy_by_card(client, platform, token, pack.id, headers=headers)
    assert r.status_code == 201, r.text
    started = r.json()
    assert started["status"] == "pending" and started["payment"]["id"]
    # a retry with the same key returns the same purchase and payment
    again = _buy_by_card(client, platform, token, pack.id, headers=headers)
    assert again.json()["id"] == started["id"] and again.json()["payment"]["id"] == started["payment"]["id"]
    assert client.get(url(platform, "/me/wallet"), headers=auth(token)).json()["available"] == 0
    deliver(runtime, client, platform)
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert (w["paid"], w["bonus"]) == (1000, 500)
    assert (
        client.get(url(platform, f"/me/pack-purchases/{started['id']}"), headers=auth(token)).json()["status"]
        == "paid"
    )
    deliver(runtime, client, platform)  # nothing more arrives, nothing more is credited
    assert client.get(url(platform, "/me/wallet"), headers=auth(token)).json()["paid"] == 1000
    assert clearing(runtime, platform) == -1000

    r = client.post(url(platform, f"/pack-purchases/{started['id']}/refund"), headers=auth(staff))
    assert r.status_code == 200, r.text
    assert (r.json()["cash"], r.json()["bonus_withdrawn"]) == (1000, 500)
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert (w["paid"], w["bonus"], w["refund_due"]) == (0, 0, 1000)
    deliver(runtime, client, platform)
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert w["refund_due"] == 0
    assert clearing(runtime, platform) == 0


def test_a_declined_card_credits_nothing(client, runtime, platform) -> None:
    _user, _, token = user_session(client, platform)
    r = _buy_by_card(client, platform, token, packs(runtime, platform)[0].id, card=CARD_DECLINED)
    assert r.status_code == 201, r.text
    deliver(runtime, client, platform)
    assert (
        client.get(url(platform, f"/me/pack-purchases/{r.json()['id']}"), headers=auth(token)).json()[
            "status"
        ]
        == "failed"
    )
    assert client.get(url(platform, "/me/wallet"), headers=auth(token)).json()["available"] == 0


def test_COMMON_PRIVACY_1_the_export_has_a_wallets_section(client, runtime, platform) -> None:
    from entremise.privacy.export import build_export

    user, _, _token = user_session(client, platform)
    buy(runtime, platform, user, packs(runtime, platform)[1].id)
    with runtime.sessions() as db, db.begin():
        archive = build_export(db, platform=platform, user_id=user, now=runtime.clock.now())
    section = archive["sections"]["wallets"]
    assert section["balances"]["paid"] == 1000 and section["balances"]["bonus"] == 500
    assert [p["status"] for p in section["purchases"]] == ["paid"]


def test_CONSULT_CREDIT_1_closing_a_wallet_refunds_paid_credit_to_the_card_and_forfeits_the_bonus(
    client, runtime, platform
) -> None:
    staff = staff_token(client, runtime, platform)
    user, _, token = user_session(client, platform)
    r = _buy_by_card(client, platform, token, packs(runtime, platform)[3].id)  # 30 € + 15 €
    assert r.status_code == 201, r.text
    deliver(runtime, client, platform)
    assert client.get(url(platform, "/me/wallet"), headers=auth(token)).json()["available"] == 4500
    assert client.post(url(platform, f"/wallets/{user}/closure"), headers=auth(token)).status_code == 403
    r = client.post(url(platform, f"/wallets/{user}/closure"), headers=auth(staff))
    assert r.status_code == 200, r.text
    assert r.json() == {"refundable": 3000, "forfeited": 1500}
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert (w["paid"], w["bonus"], w["refund_due"]) == (0, 0, 3000)
    deliver(runtime, client, platform)
    w = client.get(url(platform, "/me/wallet"), headers=auth(token)).json()
    assert w["refund_due"] == 0  # the provider refunded the card
    assert clearing(runtime, platform) == 0
    mine = client.get(url(platform, "/me/pack-purchases"), headers=auth(token)).json()["items"]
    assert [(p["status"], p["refunded"]) for p in mine] == [("refunded", 3000)]
