from __future__ import annotations


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["migrations"] == "current"


def test_openapi_and_docs_are_served(client):
    assert client.get("/openapi.json").json()["info"]["title"] == "entremise"
    assert client.get("/docs").status_code == 200


def test_platform_is_listed_and_unknown_platform_is_404(client, platform):
    slugs = [p["slug"] for p in client.get("/api/v1/platforms").json()]
    assert platform.slug in slugs
    r = client.get("/api/v1/platforms/no-such-platform")
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["status"] == 404


def test_oversize_body_is_413(client, platform):
    r = client.post(
        "/api/v1/platforms", content=b"x" * (1024 * 1024 + 1), headers={"content-type": "application/json"}
    )
    assert r.status_code == 413
    assert r.json()["title"] == "Payload too large"
