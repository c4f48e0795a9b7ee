"""Idempotency-Key on POST: replay, mismatch, concurrency, failures free the key, expiry, scoping."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from notes_api import NOTES, count_notes, notes_client_for
from sqlalchemy import func, select

from entremise.api import idempotency
from entremise.api.models import IdempotencyKey

NOTE = {"title": "hello", "amount": 7}


@pytest.fixture
def notes_client(runtime):
    with notes_client_for(runtime) as c:
        yield c


def path(platform) -> str:
    return f"/api/v1/platforms/{platform.slug}/test-notes"


def key_rows(runtime, key: str) -> int:
    with runtime.sessions() as db, db.begin():
        return int(
            db.scalar(select(func.count()).select_from(IdempotencyKey).where(IdempotencyKey.key == key))
        )


def test_same_key_same_body_replays_the_first_answer(notes_client, runtime, platform):
    headers = {"Idempotency-Key": "k-replay-1"}
    first = notes_client.post(path(platform), json=NOTE, headers=headers)
    assert first.status_code == 201
    assert "idempotent-replayed" not in first.headers
    again = notes_client.post(path(platform), json=NOTE, headers=headers)
    assert again.status_code == 201
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()
    assert again.headers["content-type"] == first.headers["content-type"]
    assert again.headers["location"] == first.headers["location"]
    assert count_notes(runtime, platform.id) == 1


def test_without_a_key_every_post_runs(notes_client, runtime, platform):
    notes_client.post(path(platform), json=NOTE)
    notes_client.post(path(platform), json=NOTE)
    assert count_notes(runtime, platform.id) == 2


def test_same_key_different_body_is_422_naming_the_header_and_changes_nothing(
    notes_client, runtime, platform
):
    headers = {"Idempotency-Key": "k-mismatch"}
    assert notes_client.post(path(platform), json=NOTE, headers=headers).status_code == 201
    r = notes_client.post(path(platform), json={**NOTE, "amount": 8}, headers=headers)
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["errors"][0]["field"] == "header.Idempotency-Key"
    assert body["instance"] == path(platform)
    assert count_notes(runtime, platform.id) == 1


@pytest.mark.parametrize("key", ["", "a" * 201, "has space", "é-accent", "tab\tinside"])
def test_invalid_key_is_422_and_changes_nothing(notes_client, runtime, platform, key):
    r = notes_client.post(path(platform), json=NOTE, headers={"Idempotency-Key": key.encode("utf-8")})
    assert r.status_code == 422, r.text
    assert r.json()["errors"][0]["field"] == "header.Idempotency-Key"
    assert count_notes(runtime, platform.id) == 0
    assert key_rows(runtime, key) == 0


def test_a_replayed_error_answer_is_the_stored_4xx(notes_client, runtime, platform):
    headers = {"Idempotency-Key": "k-422"}
    first = notes_client.post(path(platform), json={"title": "", "amount": 1}, headers=headers)
    assert first.status_code == 422
    again = notes_client.post(path(platform), json={"title": "", "amount": 1}, headers=headers)
    assert again.status_code == 422
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json() == first.json()


def test_a_5xx_frees_the_key_so_a_retry_runs(notes_client, runtime, platform):
    headers = {"Idempotency-Key": "k-crash"}
    NOTES.fail_next = True
    failed = notes_client.post(path(platform), json=NOTE, headers=headers)
    assert failed.status_code == 500
    assert key_rows(runtime, "k-crash") == 0
    retried = notes_client.post(path(platform), json=NOTE, headers=headers)
    assert retried.status_code == 201
    assert "idempotent-replayed" not in retried.headers
    assert (
        notes_client.post(path(platform), json=NOTE, headers=headers).headers["idempotent-replayed"] == "true"
    )


def test_keys_expire_after_24_hours(notes_client, runtime, platform, clock):
    headers = {"Idempotency-Key": "k-expiry"}
    notes_client.post(path(platform), json=NOTE, headers=headers)
    clock.advance(timedelta(hours=23, minutes=59))
    assert (
        notes_client.post(path(platform), json=NOTE, headers=headers).headers["idempotent-replayed"] == "true"
    )
    clock.advance(timedelta(minutes=2))
    fresh = notes_client.post(path(platform), json=NOTE, headers=headers)
    assert fresh.status_code == 201
    assert "idempotent-replayed" not in fresh.headers
    assert count_notes(runtime, platform.id) == 2
    assert key_rows(runtime, "k-expiry") == 1


def test_purge_deletes_only_expired_keys(notes_client, runtime, platform, clock):
    notes_client.post(path(platform), json=NOTE, headers={"Idempotency-Key": "k-old"})
    clock.advance(timedelta(hours=25))
    notes_client.post(path(platform), json=NOTE, headers={"Idempotency-Key": "k-new"})
    with runtime.sessions() as db, db.begin():
        assert idempotency.purge_expired(db, clock.now()) >= 1
    assert key_rows(runtime, "k-old") == 0
    assert key_rows(runtime, "k-new") == 1


def test_keys_are_scoped_by_caller_and_by_platform(notes_client, runtime, platform):
    from conftest import make_platform

    other = make_platform(runtime)
    key = {"Idempotency-Key": "k-shared"}
    assert notes_client.post(path(platform), json=NOTE, headers=key).status_code == 201
    # another caller with the same key is not answered with the first caller's response
    as_alice = notes_client.post(path(platform), json=NOTE, headers={**key, "Authorization": "Bearer alice"})
    assert as_alice.status_code == 201 and "idempotent-replayed" not in as_alice.headers
    as_bob = notes_client.post(path(platform), json=NOTE, headers={**key, "Authorization": "Bearer bob"})
    assert as_bob.status_code == 201 and "idempotent-replayed" not in as_bob.headers
    # another platform, same caller and key: its own request
    elsewhere = notes_client.post(path(other), json=NOTE, headers=key)
    assert elsewhere.status_code == 201 and "idempotent-replayed" not in elsewhere.headers
    assert count_notes(runtime, platform.id) == 3
    assert count_notes(runtime, other.id) == 1
    with runtime.sessions() as db, db.begin():
        principals = set(db.scalars(select(IdempotencyKey.principal).where(IdempotencyKey.key == "k-shared")))
    assert "anonymous" in principals
    assert not any("alice" in p or "bob" in p for p in principals)  # credentials are only hashed


def test_a_request_with_the_key_still_running_gets_409(notes_client, runtime, platform):
    headers = {"Idempotency-Key": "k-running"}
    NOTES.pause = True
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(notes_client.post, path(platform), json=NOTE, headers=headers)
        assert NOTES.entered.wait(timeout=20)
        second = notes_client.post(path(platform), json=NOTE, headers=headers)
        NOTES.release.set()
        assert first.result(timeout=20).status_code == 201
    assert second.status_code == 409
    assert second.headers["retry-after"] == "1"
    assert second.json()["status"] == 409
    assert count_notes(runtime, platform.id) == 1


def test_two_simultaneous_requests_with_one_key_run_the_handler_once(notes_client, runtime, platform):
    headers = {"Idempotency-Key": "k-race"}
    NOTES.pause = True
    start = threading.Barrier(2)

    def send():
        start.wait(timeout=20)
        return notes_client.post(path(platform), json=NOTE, headers=headers)

    with ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(send) for _ in range(2)]
        # the loser answers while the winner is held inside the handler
        deadline = time.monotonic() + 20
        while not any(f.done() for f in futures) and time.monotonic() < deadline:
            time.sleep(0.01)
        NOTES.release.set()
        statuses = sorted(f.result(timeout=20).status_code for f in futures)
    assert statuses == [201, 409]
    assert count_notes(runtime, platform.id) == 1


def test_real_route_post_with_key_is_answered_and_replayed(client, runtime):
    """POST on a GET-only real route: the 405 is stored and replayed like any other answer."""
    headers = {"Idempotency-Key": "k-405"}
    first = client.post("/api/v1/platforms", json={}, headers=headers)
    assert first.status_code == 405
    again = client.post("/api/v1/platforms", json={}, headers=headers)
    assert again.status_code == 405 and again.headers["idempotent-replayed"] == "true"


def test_hash_covers_method_path_query_and_body():
    h = idempotency.request_hash
    base = h("POST", "/a", b"", b"{}")
    assert base == h("POST", "/a", b"", b"{}")
    assert (
        len({base, h("POST", "/b", b"", b"{}"), h("POST", "/a", b"x=1", b"{}"), h("POST", "/a", b"", b"[]")})
        == 4
    )
