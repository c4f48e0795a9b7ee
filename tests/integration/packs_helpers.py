"""Helpers for pack tests: a platform created with a pack, users who accept its terms."""

from __future__ import annotations

import uuid

from accounts_helpers import PASSWORD, auth, email, login, url

from entremise.packs import service as packs
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

ATTESTED = ["adult", "insured"]


def pack_platform(runtime: Runtime, pack: str, settings: dict | None = None) -> PlatformView:
    slug = f"{pack}-{uuid.uuid4().hex[:10]}"
    with runtime.sessions() as db, db.begin():
        return packs.create_platform(
            db,
            slug=slug,
            name=slug.title(),
            pack=pack,
            now=runtime.clock.now(),
            settings=settings,
            base_url=runtime.settings.base_url,
        )


def terms_version(client, platform: PlatformView, audience: str) -> str:
    r = client.get(url(platform, f"/terms/{audience}"))
    assert r.status_code == 200, r.text
    return str(r.json()["version"])


def sign_up(client, platform: PlatformView, role: str = "client", **body):  # type: ignore[no-untyped-def]
    audience = "provider" if role == "provider" else "client"
    body.setdefault("email", email())
    body.setdefault("password", PASSWORD)
    body.setdefault("terms", {"version": terms_version(client, platform, audience), "accepted": True})
    return client.post(url(platform, "/accounts"), json={"role": role, **body})


def session(client, platform: PlatformView, role: str = "client", **body) -> tuple[str, dict[str, str]]:  # type: ignore[no-untyped-def]
    r = sign_up(client, platform, role, **body)
    assert r.status_code == 201, r.text
    user = r.json()
    r = login(client, platform, user["email"])
    assert r.status_code == 201, r.text
    return user["id"], auth(r.json()["token"])


EXPERT_PROVIDER = {
    "status": "individual",
    "first_name": "Zoé",
    "last_name": "Durand",
    "birth_date": "1985-03-02",
    "civility": "mme",
    "address": "3 rue des Lilas, 69003 Lyon",
    "landline": "+33478000000",
    "phone": "+33611223344",
    "category": "coaching",
    "attestations": ATTESTED,
}
