"""Personal links, QR codes, banners, sign-ups through a link and referral commissions, through the
real HTTP app, database and ledger (EXPERT-LINK-1, EXPERT-SIGNUP-2, EXPERT-REFER-1)."""

from __future__ import annotations

import io
import uuid
from collections import Counter
from datetime import timedelta

import pytest
import segno
from accounts_helpers import auth, register, url, user_session
from money_helpers import balance
from sqlalchemy import func, select
from test_ledger_concurrency import race

from conftest import make_platform
from entremise.accounts.models import User
from entremise.growth import service as growth
from entremise.growth.models import SignupAttribution
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType


def provider(client, platform, first="Zoé", last="Durand"):
    provider_id, _, token = user_session(client, platform, role="provider", first_name=first, last_name=last)
    return provider_id, token


def links(client, platform, token):
    r = client.get(url(platform, "/growth/me/links"), headers=auth(token))
    assert r.status_code == 200, r.text
    return r.json()


def expected_qr(data: str, kind: str) -> bytes:
    out = io.BytesIO()
    segno.make(data, error="m").save(out, kind=kind, scale=8 if kind == "png" else 4, border=4)
    return out.getvalue()


def test_EXPERT_LINK_1_each_provider_gets_unique_first_last_links_homonyms_numbered(client, runtime):
    platform = make_platform(runtime, settings={"growth": {"public_base_url": "https://experts.example"}})
    first_id, first = provider(client, platform)
    _, second = provider(client, platform)
    _, third = provider(client, platform, "ZOE", "durand")
    got = [links(client, platform, t) for t in (first, second, third)]
    assert [g["slug"] for g in got] == ["zoe-durand", "zoe-durand-2", "zoe-durand-3"]
    assert got[0]["provider_id"] == first_id
    assert got[0]["consultation_url"] == "https://experts.example/consultation/zoe-durand"
    assert got[1]["signup_url"] == "https://experts.example/inscription/zoe-durand-2"
    # the same name on another platform is free there
    other = make_platform(runtime)
    _, elsewhere = provider(client, other)
    mine = links(client, other, elsewhere)
    assert mine["slug"] == "zoe-durand"
    assert (
        mine["consultation_url"]
        == f"{runtime.settings.base_url}/consultation/zoe-durand?platform={other.slug}"
    )
    _, _, client_token = user_session(client, platform)
    assert client.get(url(platform, "/growth/me/links"), headers=auth(client_token)).status_code == 403


def test_EXPERT_LINK_1_homonyms_signing_up_at_once_get_distinct_slugs(client, runtime, platform):
    from entremise.accounts import service as accounts
    from entremise.accounts.service import RequestMeta
    from entremise.audit.service import Actor

    def sign_up(i):
        with runtime.sessions() as db, db.begin():
            return accounts.register(
                db,
                platform=platform,
                role="provider",
                email=f"zoe{i}@example.fr",
                password="correct horse battery staple",
                fields={"first_name": "Zoé", "last_name": "Durand"},
                meta=RequestMeta(),
                now=runtime.clock.now(),
                created_by=Actor.system(),
            ).id

    ids = race(4, sign_up)
    assert all(isinstance(i, str) for i in ids), ids
    with runtime.sessions() as db, db.begin():
        slugs = sorted(
            growth.my_links(
                db, platform=platform, settings=runtime.settings, provider_id=i, now=runtime.clock.now()
            ).slug
            for i in ids
        )
    assert slugs == ["zoe-durand", "zoe-durand-2", "zoe-durand-3", "zoe-durand-4"]


def test_EXPERT_LINK_1_qr_codes_encode_the_links_and_banners_embed_them_escaped(client, runtime, platform):
    _, token = provider(client, platform, "Zoé <b>", 'Dur"and')
    mine = links(client, platform, token)
    svg = client.get(mine["consultation_qr_svg"].replace("http://testserver", ""))
    assert svg.status_code == 200 and svg.headers["content-type"] == "image/svg+xml"
    assert svg.content == expected_qr(mine["consultation_url"], "svg") and b"<svg" in svg.content
    png = client.get(mine["signup_qr_png"].replace("http://testserver", ""))
    assert png.headers["content-type"] == "image/png" and png.content.startswith(b"\x89PNG")
    assert png.content == expected_qr(mine["signup_url"], "png")
    assert png.headers["x-content-type-options"] == "nosniff"

    r = client.get(url(platform, f"/links/consultation/{mine['slug']}/banner"))
    assert r.status_code == 200
    snippet = r.json()["html"]
    assert "Consulter Zoé &lt;b&gt; Dur&quot;and" in snippet and "<b>" not in snippet
    assert mine["consultation_url"].replace("&", "&amp;") in snippet
    assert f"/links/consultation/{mine['slug']}/qr.png" in snippet
    signup_banner = client.get(url(platform, f"/links/inscription/{mine['slug']}/banner")).json()
    assert signup_banner["url"] == mine["signup_url"] and "Rejoindre" in signup_banner["html"]


def test_EXPERT_LINK_1_links_resolve_to_the_provider_page_and_nothing_else(client, runtime, platform):
    provider_id, token = provider(client, platform)
    slug = links(client, platform, token)["slug"]
    page = client.get(url(platform, f"/links/consultation/{slug}")).json()
    assert page["provider_id"] == provider_id and page["first_name"] == "Zoé"
    assert page["slots"].endswith(f"/providers/{provider_id}/slots")
    assert client.get(url(platform, "/links/consultation/nobody-here")).status_code == 404
    assert client.get(url(platform, "/links/elsewhere/" + slug)).status_code == 422
    other = make_platform(runtime)
    assert client.get(url(other, f"/links/consultation/{slug}")).status_code == 404
    assert client.get(url(other, f"/links/consultation/{slug}/qr.svg")).status_code == 404

    r = client.get(f"/consultation/{slug}?platform={platform.slug}", follow_redirects=False)
    assert r.status_code == 307
    assert r.headers["location"] == f"/api/v1/platforms/{platform.slug}/links/consultation/{slug}"
    assert client.get(f"/inscription/{slug}?platform={platform.slug}").json()["provider_id"] == provider_id
    assert client.get(f"/consultation/{slug}").status_code == 404  # no platform answers at testserver
    host = f"{uuid.uuid4().hex[:12]}.example"  # tests share a database: a host of this test's own
    hosted = make_platform(runtime, settings={"growth": {"public_base_url": f"https://{host}"}})
    provider(client, hosted, "Ana", "Lima")
    r = client.get("/consultation/ana-lima", headers={"host": host}, follow_redirects=False)
    assert r.status_code == 307 and r.headers["location"].startswith(f"/api/v1/platforms/{hosted.slug}/")


def test_EXPERT_SIGNUP_2_a_client_signing_up_through_a_link_lands_on_that_providers_page(
    client, runtime, platform
):
    provider_id, token = provider(client, platform)
    slug = links(client, platform, token)["slug"]
    r = register(
        client, platform, first_name="Léa", last_name="Martin", via={"kind": "consultation", "slug": slug}
    )
    assert r.status_code == 201, r.text
    landing = r.json()["landing"]
    assert landing["provider_id"] == provider_id and landing["via"] == "consultation"
    assert landing["rules"] == ["EXPERT-SIGNUP-2"]
    assert client.get(landing["page"]).json()["provider_id"] == provider_id
    with runtime.sessions() as db, db.begin():
        attributed = growth.attribution_of(db, platform_id=platform.id, user_id=r.json()["id"])
    assert attributed is not None and attributed.provider_id == provider_id
    assert register(client, platform).json()["landing"] is None


def test_EXPERT_SIGNUP_2_an_unknown_link_refuses_the_sign_up_and_creates_nothing(client, runtime, platform):
    def users():
        with runtime.sessions() as db, db.begin():
            return db.scalar(select(func.count()).select_from(User).where(User.platform_id == platform.id))

    before = users()
    r = register(client, platform, via={"kind": "consultation", "slug": "nobody"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.via.slug"
    assert r.json()["rules"] == ["EXPERT-SIGNUP-2"]
    r = register(client, platform, via={"kind": "elsewhere", "slug": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body.via.kind"
    assert users() == before
    with runtime.sessions() as db, db.begin():
        assert (
            db.scalar(
                select(func.count())
                .select_from(SignupAttribution)
                .where(SignupAttribution.platform_id == platform.id)
            )
            == 0
        )


def referred_pair(client, platform):
    """Provider A; provider B signs up through A's /inscription/ link."""
    referrer_id, token = provider(client, platform, "Ana", "Lima")
    slug = links(client, platform, token)["slug"]
    r = register(
        client,
        platform,
        role="provider",
        first_name="Bea",
        last_name="Costa",
        via={"kind": "inscription", "slug": slug},
    )
    assert r.status_code == 201, r.text
    assert r.json()["landing"]["via"] == "inscription"
    return referrer_id, token, r.json()["id"]


def settle(runtime, platform, consultation_id, provider_id, price=4500, fee=900):
    with runtime.sessions() as db, db.begin():
        return growth.consultation_settled(
            db,
            platform_id=platform.id,
            consultation_id=consultation_id,
            provider_id=provider_id,
            price=Money(price),
            platform_fee=Money(fee),
            now=runtime.clock.now(),
        )


def test_EXPERT_REFER_1_the_referrer_earns_a_commission_on_each_consultation_once(client, runtime, platform):
    referrer_id, token, referee_id = referred_pair(client, platform)
    d = settle(runtime, platform, "consultation-1", referee_id)
    assert d.outcome == Money(90) and d.rules == ("EXPERT-REFER-1",)  # 10 % of the 9 € fee
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, referrer_id)[0] == 90
    again = settle(runtime, platform, "consultation-1", referee_id)
    assert again.outcome == Money(90)
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, referrer_id)[0] == 90
    settle(runtime, platform, "consultation-2", referee_id, fee=1000)
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, referrer_id)[0] == 190
    with runtime.sessions() as db, db.begin():
        txs = ledger.transactions_for(db, platform_id=platform.id, cause=("consultation", "consultation-1"))
    assert [(t.code, t.rules) for t in txs] == [("referral.commission", ("EXPERT-REFER-1",))]
    listed = client.get(url(platform, "/growth/me/commissions"), headers=auth(token)).json()["items"]
    assert [(c["consultation_id"], c["amount"]["amount"]) for c in listed] == [
        ("consultation-1", 90),
        ("consultation-2", 100),
    ]
    # the referee's own consultations earn the referee nothing, and a provider nobody referred earns nobody anything
    assert settle(runtime, platform, "consultation-3", referrer_id).outcome == Money(0)
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, referee_id)[0] == 0


def test_EXPERT_REFER_1_concurrent_settlements_of_one_consultation_pay_once(client, runtime, platform):
    referrer_id, _, referee_id = referred_pair(client, platform)
    outcomes = race(6, lambda _i: settle(runtime, platform, "consultation-x", referee_id).outcome)
    assert Counter(str(o) for o in outcomes) == {"0.90 EUR": 6}, outcomes
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, referrer_id)[0] == 90


def test_EXPERT_REFER_1_base_and_duration_are_settings(client, runtime, clock):
    platform = make_platform(
        runtime, settings={"growth": {"referral_percent": "5", "referral_base": "price", "referral_days": 30}}
    )
    referrer_id, _, referee_id = referred_pair(client, platform)
    assert settle(runtime, platform, "c-1", referee_id, price=4500).outcome == Money(225)  # 5 % of the price
    clock.advance(timedelta(days=31))
    late = settle(runtime, platform, "c-2", referee_id)
    assert late.outcome == Money(0) and "older than 30 days" in late.reason
    assert balance(runtime, platform, AccountType.PROVIDER_WALLET, referrer_id)[0] == 225
    with pytest.raises(Exception):  # noqa: B017 - the settings refuse an unknown base
        make_platform(runtime, settings={"growth": {"referral_base": "everything"}})
