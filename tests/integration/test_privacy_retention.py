"""The retention purge (COMMON-PRIVACY-3): connection data after a year, closed accounts' held fields
when their hold ends (COMMON-ACCOUNT-4), messages of closed accounts, the worker job and the CLI, a
purge log without values, and two workers purging at once."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from accounts_helpers import PASSWORD, auth, login, url, user_session
from privacy_helpers import count, outbox_of
from sqlalchemy import select
from typer.testing import CliRunner

from conftest import make_platform
from entremise.accounts import service as accounts
from entremise.accounts.models import AuthSession, Device, LoginAttempt, PasswordResetToken, User
from entremise.audit.models import AuditEntry
from entremise.audit.service import Actor
from entremise.config import get_settings
from entremise.notify.dispatch import deliver_due
from entremise.privacy import registry
from entremise.privacy.models import ConsentEvent, PrivacyRequest
from entremise.privacy.retention import purge_due, purge_platform
from entremise.terms import service as terms
from entremise.terms.models import TermsAcceptance
from entremise.worker.runner import run_once

YEAR = timedelta(days=365)


def _purge(runtime, platform, force: bool = True):  # type: ignore[no-untyped-def]
    with runtime.sessions() as db, db.begin():
        return purge_platform(db, platform=platform, now=runtime.clock.now(), worker="test", force=force)


def _purged(runtime, platform) -> dict[str, AuditEntry]:
    with runtime.sessions() as db:
        rows = db.scalars(
            select(AuditEntry).where(
                AuditEntry.platform_id == platform.id, AuditEntry.action == "retention.purged"
            )
        )
        return {r.object_id: r for r in rows}


def _counts(report) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {i.purger: i.count for i in report.items if i.count}


def test_COMMON_PRIVACY_3_connection_data_go_one_year_after_the_connection(client, runtime, platform):
    user_id, ident, _token = user_session(client, platform, headers={"X-Device-Id": "old-phone"})
    login(client, platform, ident, "wrong password, typed fast")
    client.post(url(platform, "/password-resets"), json={"identifier": ident})
    assert _counts(_purge(runtime, platform)) == {}  # nothing is a year old yet
    runtime.clock.advance(YEAR + timedelta(days=15))  # the sessions expired 14 days after login
    _new, new_ident, _t = user_session(client, platform, headers={"X-Device-Id": "new-phone"})
    report = _purge(runtime, platform)
    assert _counts(report) == {
        "accounts.devices": 1,
        "accounts.login_attempts": 2,  # the first user's; the new user's login is recent
        "accounts.password_reset_tokens": 1,
        "accounts.sessions": 1,
    }
    assert count(runtime, AuthSession, user_id=user_id) == 0 and count(runtime, Device, user_id=user_id) == 0
    assert count(runtime, PasswordResetToken, user_id=user_id) == 0
    assert count(runtime, LoginAttempt, platform_id=platform.id) == 1  # the recent login stays
    log = _purged(runtime, platform)
    entry = log["accounts.sessions"]
    assert entry.rules == ["COMMON-PRIVACY-3"] and entry.actor_type == "system"
    assert entry.data["count"] == 1 and entry.data["kind"] == "connection"
    assert entry.data["cutoff"] == (runtime.clock.now() - YEAR).isoformat()
    assert new_ident not in str(entry.data) and ident not in str([e.data for e in log.values()])


def test_COMMON_ACCOUNT_4_held_fields_are_purged_when_their_hold_ends_and_not_before(
    client, runtime, platform
):
    def took_part(db, platform_id, user_id):  # type: ignore[no-untyped-def]
        return True

    with runtime.sessions() as db, db.begin():
        terms.publish(
            db,
            platform=platform,
            audience="client",
            version="v1",
            text="Conditions v1",
            effective_at=runtime.clock.now(),
            actor=Actor.system(),
            base_url=runtime.settings.base_url,
            now=runtime.clock.now(),
        )
    accounts.register_activity_check(took_part)
    try:
        user_id, _ident, token = user_session(
            client,
            platform,
            first_name="Noé",
            last_name="Petit",
            marketing={"email": True},
            terms={"version": "v1", "accepted": True},
        )
        r = client.post(url(platform, "/me/closure"), json={"password": PASSWORD}, headers=auth(token))
    finally:
        accounts.ACTIVITY_CHECKS.remove(took_part)
    assert {h["field"]: h["until"] for h in r.json()["retention_holds"]} == {
        "first_name": "2031-11-22",
        "last_name": "2031-11-22",
        "birth_date": "2031-11-22",
        "email_digest": "2027-11-23",
    }
    runtime.clock.advance(YEAR)  # 23 November 2027: the last day of the account hold
    assert "accounts.held_fields" not in _counts(_purge(runtime, platform))
    runtime.clock.advance(timedelta(days=1))
    counts = _counts(_purge(runtime, platform))
    assert counts["accounts.held_fields"] == 1
    assert counts["privacy.closed_accounts_records"] == 7  # 3 consents, their 3 proofs and the withdrawal
    assert count(runtime, ConsentEvent, user_id=user_id) == 0
    with runtime.sessions() as db:
        user = db.get(User, user_id)
        assert user.email_digest is None and user.first_name == "Noé"
        assert [h["field"] for h in user.retention_holds] == ["first_name", "last_name", "birth_date"]
    entry = _purged(runtime, platform)["accounts.held_fields"]
    assert entry.data["users"] == [{"user_id": user_id, "fields": ["email_digest"], "kinds": ["account"]}]
    assert entry.rules == ["COMMON-PRIVACY-3"]
    runtime.clock.advance(4 * YEAR + timedelta(days=1))  # past 22 November 2031
    report = _purge(runtime, platform)
    # civil identity and the terms evidence (who accepted what, from where) go after five years
    assert _counts(report) == {"accounts.held_fields": 3, "terms.closed_accounts_evidence": 1}
    with runtime.sessions() as db:
        user = db.get(User, user_id)
        assert (user.first_name, user.last_name, user.retention_holds) == (None, None, [])
    assert count(runtime, TermsAcceptance, user_id=user_id) == 0
    assert _counts(_purge(runtime, platform)) == {}  # idempotent: nothing left to purge


def test_COMMON_ACCOUNT_4_messages_of_a_closed_account_go_once_delivered(client, runtime, platform):
    user_id, ident, token = user_session(client, platform, marketing={"email": True})
    client.post(url(platform, "/password-resets"), json={"identifier": ident})
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    client.post(url(platform, "/me/closure"), json={"password": PASSWORD}, headers=auth(token))
    assert [m.status for m in outbox_of(runtime, platform, user_id)] == ["sent", "pending"]
    assert _counts(_purge(runtime, platform)) == {"notify.closed_accounts_messages": 1}
    [pending] = outbox_of(runtime, platform, user_id)
    assert pending.template == "accounts.account_closed"  # still to send: kept until it is
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    assert _counts(_purge(runtime, platform)) == {"notify.closed_accounts_messages": 1}
    assert outbox_of(runtime, platform, user_id) == []
    entry = _purged(runtime, platform)["notify.closed_accounts_messages"]
    assert entry.rules == ["COMMON-ACCOUNT-4", "COMMON-PRIVACY-3"]
    with runtime.sessions() as db:  # the proof that the messages left stays in the audit trail
        sent = db.scalars(
            select(AuditEntry).where(
                AuditEntry.platform_id == platform.id, AuditEntry.action == "notification.sent"
            )
        ).all()
    assert len(sent) == 2


def test_COMMON_PRIVACY_3_sent_messages_of_open_accounts_go_after_their_retention(client, runtime, platform):
    user_id, ident, _token = user_session(client, platform)
    client.post(url(platform, "/password-resets"), json={"identifier": ident})
    deliver_due(runtime, runtime.clock.now(), platform_id=platform.id)
    runtime.clock.advance(YEAR + timedelta(days=1))
    assert _counts(_purge(runtime, platform))["notify.sent_messages"] == 1
    assert outbox_of(runtime, platform, user_id) == []


def test_COMMON_PRIVACY_3_retention_figures_are_platform_data(client, runtime):
    platform = make_platform(runtime, settings={"retention_days": {"connection": 30, "messages": 0}})
    _user_id, _ident, _token = user_session(client, platform)
    runtime.clock.advance(timedelta(days=31))
    report = _purge(runtime, platform)
    assert _counts(report)["accounts.login_attempts"] == 1
    [skipped] = [i for i in report.items if i.purger == "notify.sent_messages"]
    assert skipped.count == 0 and "no valid retention period" in skipped.note


@pytest.fixture
def cli_env(database_url, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("DATABASE_URL", database_url)
    get_settings.cache_clear()
    yield {"DATABASE_URL": database_url}
    get_settings.cache_clear()


def test_the_worker_purges_each_platform_once_per_interval_and_the_cli_at_once(client, runtime, cli_env):
    platform = make_platform(
        runtime, settings={"retention_days": {"connection": 1}, "privacy": {"purge_interval_hours": 72}}
    )
    _user_id, ident, _token = user_session(client, platform)

    def attempts() -> int:
        return count(runtime, LoginAttempt, platform_id=platform.id)

    assert "privacy-purge" in run_once(runtime) and attempts() == 1  # ran: nothing a day old yet
    runtime.clock.advance(timedelta(days=2))
    run_once(runtime)
    assert attempts() == 1  # the last purge of this platform was 48 hours ago: not due before 72
    runtime.clock.advance(timedelta(days=2))
    assert run_once(runtime)["privacy-purge"] >= 1
    assert attempts() == 0
    login(client, platform, ident, "wrong password, typed fast")
    from entremise.cli.main import app

    # the command line runs at once, whatever the interval (on the real clock, days after START)
    result = CliRunner().invoke(app, ["privacy", "purge", "--platform", platform.slug], env=cli_env)
    assert result.exit_code == 0, result.output
    assert f"{platform.slug}\taccounts.login_attempts\t1\n" in result.output
    assert attempts() == 0
    result = CliRunner().invoke(app, ["privacy", "purge", "--platform", "no-such-platform"], env=cli_env)
    assert result.exit_code == 2


def test_a_later_module_adds_a_purger_with_its_kind(client, runtime, platform):
    seen: list[object] = []

    def purge_rides(db, p, cutoff, now):  # type: ignore[no-untyped-def]
        seen.append(cutoff)
        return registry.PurgeResult(2, {"ride_ids": ["r1", "r2"]})

    registry.register_purger("kidride.rides", kind="ride", fn=purge_rides)
    try:
        report = _purge(runtime, platform)
    finally:
        registry.PURGERS.pop("kidride.rides")
    assert seen == [runtime.clock.now() - timedelta(days=5 * 365)]
    assert _counts(report)["kidride.rides"] == 2
    assert _purged(runtime, platform)["kidride.rides"].data["ride_ids"] == ["r1", "r2"]


@pytest.mark.rule("COMMON-PRIVACY-3")
def test_two_workers_purging_at_once_purge_each_record_once(client, runtime, platform):
    users = [user_session(client, platform)[0] for _ in range(3)]
    runtime.clock.advance(YEAR + timedelta(days=15))
    barrier = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            barrier.wait()
            with runtime.sessions() as db, db.begin():
                reports.append(purge_platform(db, platform=platform, now=runtime.clock.now(), worker="t"))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert sorted(r.ran for r in reports) == [False, True]  # one purged; the other skipped
    assert sum(r.total for r in reports) == 6  # three sessions and three login attempts
    assert {k: v.data["count"] for k, v in _purged(runtime, platform).items()} == {
        "accounts.sessions": 3,
        "accounts.login_attempts": 3,
    }
    for user_id in users:
        assert count(runtime, AuthSession, user_id=user_id) == 0
    assert count(runtime, PrivacyRequest, platform_id=platform.id) == 0


def test_a_failing_purge_on_one_platform_does_not_stop_the_others(client, runtime, monkeypatch):
    good = make_platform(runtime, settings={"retention_days": {"connection": 1}})
    bad = make_platform(runtime)
    user_session(client, good)

    def broken(db, p, cutoff, now):  # type: ignore[no-untyped-def]
        if p.id == bad.id:
            raise RuntimeError("disk on fire")
        return registry.PurgeResult(0)

    registry.register_purger("test.broken", kind=None, fn=broken)
    try:
        runtime.clock.advance(timedelta(days=2))
        with pytest.raises(RuntimeError, match=bad.slug):
            purge_due(runtime, runtime.clock.now())
    finally:
        registry.PURGERS.pop("test.broken")
    assert count(runtime, LoginAttempt, platform_id=good.id) == 0  # purged despite the other's failure
