"""A consult platform end to end through the HTTP app: staff create a Master and agree a
commission, the Master accepts the terms and publishes a DJob, a client signs up accepting the
terms, is credited a credit pack, orders, receives the delivery and accepts it; the money moves
from the hold to the Master's wallet and the platform's commission; a breach gets a formal notice."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "integration"))

from accounts_helpers import PASSWORD, auth, email, login, staff_token, url
from money_helpers import balance, fund
from packs_helpers import pack_platform, session, sign_up, terms_version

from entremise.ledger.domain import AccountType
from entremise.packs.consult import policies
from entremise.packs.consult.settings import ConsultSettings

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def test_consult_journey_CONSULT_DJOB_1_CONSULT_CREDIT_1_CONSULT_SANCTION_1(client, runtime):
    platform = pack_platform(runtime, "consult")
    staff = auth(staff_token(client, runtime, platform))

    # Masters join through the platform: no self-service sign-up
    assert sign_up(client, platform, "provider", first_name="Irma").status_code == 403
    master_email = email()
    r = client.post(
        url(platform, "/staff/users"),
        json={"role": "provider", "email": master_email, "password": PASSWORD, "first_name": "Irma"},
        headers=staff,
    )
    assert r.status_code == 201, r.text
    master_id = r.json()["id"]
    # a commission agreed with this Master (CONSULT-DJOB-1: the platform resells)
    r = client.patch(
        url(platform, "/settings"),
        json={"settings": {f"orders.commission_percent_by_provider.{master_id}": "20"}},
        headers=staff,
    )
    assert r.status_code == 200, r.text

    token = login(client, platform, master_email).json()["token"]
    r = client.post(
        url(platform, "/me/password"),
        json={"current_password": PASSWORD, "new_password": "an even better horse battery"},
        headers=auth(token),
    )
    assert r.status_code == 204, r.text
    master = auth(login(client, platform, master_email, "an even better horse battery").json()["token"])
    version = terms_version(client, platform, "provider")
    r = client.post(
        url(platform, f"/terms/provider/{version}/acceptance"), json={"accepted": True}, headers=master
    )
    assert r.status_code == 201, r.text
    r = client.post(
        url(platform, "/djob-offers"),
        json={
            "title": "Tirage écrit",
            "description": "Un tirage détaillé en PDF.",
            "price": 4000,
            "delivery_days": 3,
        },
        headers=master,
    )
    assert r.status_code == 201, r.text
    offer_id = r.json()["id"]

    # the client signs up accepting the terms and buys the 30 € + 15 € pack (CONSULT-CREDIT-1)
    client_id, buyer = session(client, platform, first_name="Claire", last_name="Martin")
    pack = policies.credit_pack(ConsultSettings.model_validate(platform.settings.pack_settings), 3)
    assert pack.outcome is not None
    price, bonus = pack.outcome
    assert (price.amount, bonus.amount) == (3000, 1500)
    fund(runtime, platform, client_id, price.amount + bonus.amount)  # the pay-in (wallets module pending)

    # a cart over the credit is refused and nothing is held
    r = client.post(
        url(platform, "/orders"),
        json={"offer_id": offer_id, "quantity": 2, "brief": "Amour et travail."},
        headers=buyer,
    )
    assert r.status_code == 409, r.text
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (4500, 4500)

    r = client.post(
        url(platform, "/orders"),
        json={"offer_id": offer_id, "quantity": 1, "brief": "Amour et travail."},
        headers=buyer,
    )
    assert r.status_code == 201, r.text
    order_id = r.json()["id"]
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (4500, 500)
    assert (
        client.post(url(platform, f"/orders/{order_id}/acceptance"), json={}, headers=master).status_code
        == 200
    )
    f = client.post(
        url(platform, "/files"),
        data={"purpose": "order_delivery"},
        files={"file": ("tirage.pdf", PDF, "application/octet-stream")},
        headers=master,
    ).json()["id"]
    r = client.post(url(platform, f"/orders/{order_id}/deliveries"), json={"file_ids": [f]}, headers=master)
    assert r.status_code == 200, r.text
    r = client.post(url(platform, f"/orders/{order_id}/delivery-acceptance"), json={}, headers=buyer)
    assert r.status_code == 200 and r.json()["state"] == "completed", r.text
    # the agreed 20 %: 8 € for the platform, 32 € for the Master; money conserved
    assert balance(runtime, platform, AccountType.CLIENT_CREDIT, client_id) == (500, 500)
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, master_id)[0] == 3200
    assert balance(runtime, platform, AccountType.PLATFORM_REVENUE)[0] == 800

    # a lesser breach: a formal notice with 30 days to remedy (CONSULT-SANCTION-1)
    r = client.post(
        url(platform, "/staff/consult/formal-notices"),
        json={"user_id": master_id, "grievances": "Délais de livraison non tenus."},
        headers=staff,
    )
    assert r.status_code == 201 and r.json()["rules"] == ["CONSULT-SANCTION-1"], r.text
    # and a client cannot send one
    r = client.post(
        url(platform, "/staff/consult/formal-notices"),
        json={"user_id": master_id, "grievances": "x"},
        headers=buyer,
    )
    assert r.status_code == 403
