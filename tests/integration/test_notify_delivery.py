"""Delivering the outbox through a real SMTP server (aiosmtpd), `.eml` files and SMS files."""

from __future__ import annotations

import dataclasses
import email
import email.policy
import json
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from conftest import make_platform
from entremise.audit.service import list_entries
from entremise.notify.dispatch import deliver_due
from entremise.notify.models import OutboxMessage
from entremise.notify.outbox import enqueue
from entremise.notify.ports import DeliveryError
from entremise.platforms.service import PlatformView
from entremise.runtime import Runtime

RESET = {
    "platform_name": "Covoit Est",
    "reset_url": "https://covoit.example/r?t=abc&u=1",
    "expires_minutes": 30,
}


class Collector:
    """An SMTP handler keeping every message it accepts; refuses recipients starting with `nobody`."""

    def __init__(self) -> None:
        self.received: list[tuple[str, list[str], EmailMessage]] = []
        self.raw: list[bytes] = []
        self.lock = threading.Lock()

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: Any
    ) -> str:
        if address.startswith("nobody"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        with self.lock:
            self.received.append((envelope.mail_from, list(envelope.rcpt_tos), parsed))
            self.raw.append(envelope.content)
        return "250 Message accepted for delivery"

    def to(self, recipient: str) -> list[EmailMessage]:
        return [m for _, rcpts, m in self.received if recipient in rcpts]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class SmtpServer:
    def __init__(self, port: int) -> None:
        self.port = port
        self.handler = Collector()
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def smtp_down() -> Iterator[SmtpServer]:
    """A port with no server behind it yet; the test starts it when it wants."""
    server = SmtpServer(free_port())
    yield server
    server.stop()


def with_smtp(runtime: Runtime, port: int, **more: Any) -> Runtime:
    settings = runtime.settings.model_copy(
        update={
            "mail_backend": "smtp",
            "smtp_host": "127.0.0.1",
            "smtp_port": port,
            "smtp_timeout": 5.0,
            **more,
        }
    )
    return dataclasses.replace(runtime, settings=settings)


def expected_id(outbox_id: int, platform: PlatformView) -> str:
    return f"<outbox.{outbox_id}.{platform.id.replace('-', '')}@entremise.localhost>"


def address() -> str:
    return f"user-{uuid.uuid4().hex[:10]}@example.org"


def queue(
    runtime: Runtime,
    platform: PlatformView,
    template: str,
    payload: dict[str, Any],
    *,
    recipient: str,
    channel: str = "email",
    locale: str = "fr",
) -> int:
    with runtime.sessions() as db, db.begin():
        return enqueue(
            db,
            platform_id=platform.id,
            channel=channel,
            template=template,
            recipient=recipient,
            payload=payload,
            now=runtime.clock.now(),
            locale=locale,
        ).id


def row(runtime: Runtime, message_id: int) -> OutboxMessage:
    with runtime.sessions() as db:
        found = db.get(OutboxMessage, message_id)
        assert found is not None
        return found


def actions(runtime: Runtime, platform: PlatformView, message_id: int) -> list[str]:
    with runtime.sessions() as db:
        entries = list_entries(
            db, platform_id=platform.id, object_type="outbox_message", object_id=str(message_id)
        )
        return [e.action for e in entries]


def test_email_goes_through_a_real_smtp_server_as_text_and_html(runtime, platform, clock, smtp) -> None:
    rt = with_smtp(runtime, smtp.port)
    to = address()
    mid = queue(rt, platform, "accounts.password_reset", RESET, recipient=to)

    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1

    [(envelope_from, rcpts, msg)] = smtp.handler.received
    assert rcpts == [to] and envelope_from == "no-reply@entremise.localhost"
    assert msg["Subject"] == "Covoit Est : choisissez un nouveau mot de passe"
    assert msg["To"] == to
    assert msg["From"].addresses[0].display_name == "Covoit Est"
    assert msg["From"].addresses[0].addr_spec == "no-reply@entremise.localhost"
    assert msg["Message-ID"].strip() == expected_id(mid, platform)
    assert parsedate_to_datetime(msg["Date"]) == clock.now()
    assert msg["Content-Language"] == "fr"
    assert msg.get_content_type() == "multipart/alternative"
    text = msg.get_body(("plain",))
    html = msg.get_body(("html",))
    assert text is not None and html is not None
    assert "https://covoit.example/r?t=abc&u=1" in text.get_content()
    assert "30 minutes" in text.get_content()
    assert 'href="https://covoit.example/r?t=abc&amp;u=1"' in html.get_content()
    assert "demandé" in text.get_content()
    assert max(smtp.handler.raw[0]) < 128  # French text travels in a 7-bit transfer encoding

    sent = row(rt, mid)
    assert (sent.status, sent.attempts, sent.sent_at, sent.last_error) == ("sent", 1, clock.now(), None)
    assert actions(rt, platform, mid) == ["notification.sent"]
    # nothing left to do
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 0
    assert len(smtp.handler.received) == 1


def test_template_without_html_is_sent_as_plain_text(runtime, platform, clock, smtp) -> None:
    rt = with_smtp(runtime, smtp.port)
    to = address()
    queue(
        rt, platform, "accounts.password_changed", {"platform_name": "Covoit Est"}, recipient=to, locale="en"
    )
    deliver_due(rt, clock.now(), platform_id=platform.id)
    [msg] = smtp.handler.to(to)
    assert msg.get_content_type() == "text/plain"
    assert msg["Subject"] == "Covoit Est: your password was changed"
    assert msg["Content-Language"] == "en"
    assert "has just been changed" in msg.get_content()


def test_smtp_down_keeps_the_error_and_retries_with_backoff_then_succeeds(
    runtime, platform, clock, smtp_down
) -> None:
    rt = with_smtp(runtime, smtp_down.port)
    to = address()
    mid = queue(rt, platform, "accounts.password_reset", RESET, recipient=to)
    start = clock.now()

    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1
    failed = row(rt, mid)
    assert failed.status == "pending" and failed.attempts == 1
    assert failed.last_error and "Connection" in failed.last_error
    assert failed.next_attempt_at == start + timedelta(minutes=1)
    assert failed.claimed_by is None

    # not due again before the backoff has passed
    clock.advance(timedelta(seconds=59))
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 0
    clock.advance(timedelta(seconds=1))
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1
    second = row(rt, mid)
    assert second.attempts == 2 and second.next_attempt_at == clock.now() + timedelta(minutes=2)

    smtp_down.start()
    clock.advance(timedelta(minutes=2))
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1
    done = row(rt, mid)
    assert (done.status, done.attempts, done.sent_at) == ("sent", 3, clock.now())
    [msg] = smtp_down.handler.to(to)
    assert msg["Message-ID"].strip() == expected_id(mid, platform)
    assert actions(rt, platform, mid) == ["notification.sent"]


def test_message_is_dead_after_max_attempts(runtime, platform, clock, smtp_down) -> None:
    rt = with_smtp(runtime, smtp_down.port, mail_max_attempts=3)
    mid = queue(rt, platform, "accounts.password_changed", {"platform_name": "X"}, recipient=address())
    for attempt in (1, 2, 3):
        assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1
        current = row(rt, mid)
        assert current.attempts == attempt
        clock.set(current.next_attempt_at)
    dead = row(rt, mid)
    assert dead.status == "dead" and dead.sent_at is None and dead.last_error
    assert actions(rt, platform, mid) == ["notification.dead"]
    clock.advance(timedelta(days=1))
    smtp_down.start()
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 0
    assert smtp_down.handler.received == []


def test_recipient_refused_for_good_is_dead_at_once(runtime, platform, clock, smtp) -> None:
    rt = with_smtp(runtime, smtp.port)
    mid = queue(
        rt, platform, "accounts.password_changed", {"platform_name": "X"}, recipient="nobody@example.org"
    )
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1
    dead = row(rt, mid)
    assert dead.status == "dead" and dead.attempts == 1
    assert dead.last_error and "550" in dead.last_error


def test_render_error_is_dead_at_once_and_nothing_is_sent(runtime, platform, clock, settings) -> None:
    mid = queue(runtime, platform, "accounts.password_reset", {"platform_name": "X"}, recipient=address())
    assert deliver_due(runtime, clock.now(), platform_id=platform.id) == 1
    dead = row(runtime, mid)
    assert dead.status == "dead" and dead.attempts == 1
    assert dead.last_error and "cannot render" in dead.last_error and "reset_url" in dead.last_error
    assert not Path(settings.mail_dir).exists() or list(Path(settings.mail_dir).iterdir()) == []
    assert actions(runtime, platform, mid) == ["notification.dead"]


def test_unknown_template_is_dead_at_once(runtime, platform, clock) -> None:
    mid = queue(runtime, platform, "accounts.no_such_thing", {"platform_name": "X"}, recipient=address())
    deliver_due(runtime, clock.now(), platform_id=platform.id)
    dead = row(runtime, mid)
    assert dead.status == "dead" and dead.last_error and "no email template" in dead.last_error


def test_file_backend_writes_a_parseable_eml(runtime, platform, clock, settings) -> None:
    assert settings.mail_backend == "file"
    to = address()
    payload = {"platform_name": "Covoit Est", "closed_at": "2026-11-23T09:00:00+00:00"}
    mid = queue(runtime, platform, "accounts.account_closed", payload, recipient=to, locale="en")
    assert deliver_due(runtime, clock.now(), platform_id=platform.id) == 1
    [path] = Path(settings.mail_dir).glob("*.eml")
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert isinstance(msg, EmailMessage)
    assert msg["To"] == to
    assert msg["Subject"] == "Covoit Est: your account is closed"
    assert msg["Message-ID"].strip() == expected_id(mid, platform)
    text = msg.get_body(("plain",))
    assert text is not None and "23 November 2026 at 10:00" in text.get_content()
    assert msg.get_body(("html",)) is not None
    assert row(runtime, mid).status == "sent"


def test_sms_file_adapter_writes_the_code(runtime, platform, clock, settings) -> None:
    payload = {"platform_name": "Covoit Est", "code": "482913"}
    mid = queue(
        runtime,
        platform,
        "accounts.login_code",
        payload,
        recipient="+33612345678",
        channel="sms",
        locale="en",
    )
    assert deliver_due(runtime, clock.now(), platform_id=platform.id) == 1
    [path] = Path(settings.sms_dir).glob("*.json")
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["to"] == "+33612345678"
    assert data["text"].startswith("482913 is your Covoit Est sign-in code")
    assert data["sender"] == "Covoit Est"
    assert data["message_id"] == expected_id(mid, platform)
    assert row(runtime, mid).status == "sent"


def test_each_message_is_rendered_with_its_own_platforms_data(runtime, clock, smtp) -> None:
    rt = with_smtp(runtime, smtp.port)
    a, b = make_platform(rt, prefix="a"), make_platform(rt, prefix="b")
    to_a, to_b = address(), address()
    queue(rt, a, "accounts.password_changed", {"platform_name": "Alpha Rides"}, recipient=to_a)
    queue(rt, b, "accounts.password_changed", {"platform_name": "Beta Calls"}, recipient=to_b)
    assert deliver_due(rt, clock.now(), platform_id=a.id) == 1
    assert smtp.handler.to(to_b) == []  # restricted to platform A
    assert deliver_due(rt, clock.now(), platform_id=b.id) == 1
    [msg_a], [msg_b] = smtp.handler.to(to_a), smtp.handler.to(to_b)
    for msg, mine, other, platform in (
        (msg_a, "Alpha Rides", "Beta Calls", a),
        (msg_b, "Beta Calls", "Alpha Rides", b),
    ):
        raw = msg.as_string()
        assert mine in msg["Subject"] and mine in msg.get_content()
        assert msg["From"].addresses[0].display_name == mine
        assert other not in raw
        assert platform.id.replace("-", "") in msg["Message-ID"]


def test_two_workers_never_send_one_message_twice(runtime, platform, clock, smtp) -> None:
    rt = with_smtp(runtime, smtp.port)
    recipients = [address() for _ in range(12)]
    ids = [
        queue(rt, platform, "accounts.password_changed", {"platform_name": "X"}, recipient=r)
        for r in recipients
    ]
    barrier = threading.Barrier(2)
    handled: list[int] = []

    def work() -> None:
        barrier.wait()
        handled.append(deliver_due(rt, clock.now(), platform_id=platform.id))

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()

    assert sum(handled) == len(ids)
    message_ids = [m["Message-ID"] for r in recipients for m in smtp.handler.to(r)]
    assert len(message_ids) == len(ids) == len(set(message_ids))
    assert {row(rt, i).status for i in ids} == {"sent"}


def test_claim_of_a_crashed_worker_lapses_after_the_lease(runtime, platform, clock, smtp) -> None:
    """At least once: a message claimed by a worker that died is sent again once the lease is over."""
    rt = with_smtp(runtime, smtp.port)
    to = address()
    mid = queue(rt, platform, "accounts.password_changed", {"platform_name": "X"}, recipient=to)
    with rt.sessions() as db, db.begin():
        claimed = db.get(OutboxMessage, mid)
        assert claimed is not None
        claimed.claimed_by, claimed.claimed_at = "crashed-worker", clock.now()
    lease = timedelta(seconds=rt.settings.mail_lease_seconds)
    clock.advance(lease - timedelta(seconds=1))
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 0
    clock.advance(timedelta(seconds=1))
    assert deliver_due(rt, clock.now(), platform_id=platform.id) == 1
    assert len(smtp.handler.to(to)) == 1
    done = row(rt, mid)
    assert done.status == "sent" and done.claimed_by != "crashed-worker"


def test_unknown_mail_backend_is_refused_by_the_settings(settings) -> None:
    from pydantic import ValidationError

    from entremise.config import Settings

    with pytest.raises(ValidationError):
        Settings(DATABASE_URL=settings.database_url, ENTREMISE_MAIL_BACKEND="pigeon")


class TakenOverWhileSending:
    """An EmailSender (test adapter behind the port) during whose send another worker takes the
    message over, as happens when a send outlasts the lease."""

    def __init__(self, runtime: Runtime, outbox_id: int, *, fail: bool) -> None:
        self.runtime, self.outbox_id, self.fail = runtime, outbox_id, fail

    def send(self, message: EmailMessage) -> None:
        with self.runtime.sessions() as db, db.begin():
            taken = db.get(OutboxMessage, self.outbox_id)
            assert taken is not None
            taken.claimed_by = "other-worker"
        if self.fail:
            raise DeliveryError("timed out")


def test_a_message_that_left_is_recorded_sent_even_if_the_claim_was_taken_over(
    runtime, platform, clock
) -> None:
    mid = queue(runtime, platform, "accounts.password_changed", {"platform_name": "X"}, recipient=address())
    deliver_due(
        runtime, clock.now(), platform_id=platform.id, email=TakenOverWhileSending(runtime, mid, fail=False)
    )
    done = row(runtime, mid)
    assert done.status == "sent" and done.attempts == 1


def test_a_failure_after_the_claim_was_taken_over_leaves_the_message_to_its_new_holder(
    runtime, platform, clock
) -> None:
    mid = queue(runtime, platform, "accounts.password_changed", {"platform_name": "X"}, recipient=address())
    deliver_due(
        runtime, clock.now(), platform_id=platform.id, email=TakenOverWhileSending(runtime, mid, fail=True)
    )
    untouched = row(runtime, mid)
    assert (untouched.status, untouched.attempts, untouched.claimed_by) == ("pending", 0, "other-worker")
    assert untouched.last_error is None
