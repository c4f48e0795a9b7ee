"""Helpers for tests that need accounts: register, log in, make staff."""

from __future__ import annotations

import uuid

from entremise.accounts import service as accounts
from entremise.audit.service import Actor
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

PASSWORD = "correct horse battery staple"
CARPOOL_SETTINGS = {
    "login_identifiers": ["email", "phone"],
    "terms_notice_days": 14,
    "terms_termination_days": 10,
}


def url(platform: PlatformView, path: str) -> str:
    return f"/api/v1/platforms/{platform.slug}{path}"


def email() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.fr"


def register(client, platform: PlatformView, **body):  # type: ignore[no-untyped-def]
    body.setdefault("email", email())
    body.setdefault("password", PASSWORD)
    headers = body.pop("headers", {})
    return client.post(url(platform, "/accounts"), json=body, headers=headers)


def login(client, platform: PlatformView, identifier: str, password: str = PASSWORD, headers=None):  # type: ignore[no-untyped-def]
    return client.post(
        url(platform, "/sessions"),
        json={"identifier": identifier, "password": password},
        headers=headers or {},
    )


def auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def user_session(client, platform: PlatformView, **body) -> tuple[str, str, str]:  # type: ignore[no-untyped-def]
    """Register then log in: (user_id, email, token)."""
    r = register(client, platform, **body)
    assert r.status_code == 201, r.text
    user = r.json()
    identifier = user["email"] or user["phone"]
    r = login(client, platform, identifier, body.get("password", PASSWORD))
    assert r.status_code == 201, r.text
    return user["id"], identifier, r.json()["token"]


def make_staff(runtime: Runtime, platform: PlatformView) -> str:
    with runtime.sessions() as db, db.begin():
        user = accounts.register(
            db,
            platform=platform,
            role="staff",
            email=email(),
            password=PASSWORD,
            fields={},
            meta=accounts.RequestMeta(),
            now=runtime.clock.now(),
            created_by=Actor.system(),
            must_change_password=False,
        )
    assert user.email is not None
    return user.email


def staff_token(client, runtime: Runtime, platform: PlatformView) -> str:  # type: ignore[no-untyped-def]
    r = login(client, platform, make_staff(runtime, platform))
    assert r.status_code == 201, r.text
    return str(r.json()["token"])


def problem_body(response) -> dict:  # type: ignore[no-untyped-def]
    """A problem document without what differs on every request (its request id)."""
    return {k: v for k, v in response.json().items() if k not in {"request_id", "retry_after"}}
