"""Outbox e-mails with attachments: stored with the message, sent as multipart/mixed through a
real SMTP server (aiosmtpd), refused when they cannot be sent."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from test_notify_delivery import RESET, SmtpServer, address, free_port, with_smtp

from entremise.notify.dispatch import deliver_due
from entremise.notify.outbox import enqueue
from entremise.notify.ports import Attachment


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


def test_attachments_go_through_smtp_with_the_text_and_html_body(runtime, platform, clock, smtp):
    files = [
        Attachment("releve.pdf", "application/pdf", b"%PDF-1.7 fake"),
        Attachment("data.xml", "application/xml", b"<a/>"),
    ]
    to = address()
    with runtime.sessions() as db, db.begin():
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="accounts.password_reset",
            recipient=to,
            payload=RESET,
            now=clock.now(),
            attachments=files,
        )
    assert deliver_due(with_smtp(runtime, smtp.port), clock.now(), platform_id=platform.id) == 1
    [msg] = smtp.handler.to(to)
    assert msg.get_content_type() == "multipart/mixed"
    body = msg.get_body(preferencelist=("html", "plain"))
    assert body is not None and body.get_content_type() == "text/html"
    got = [(a.get_filename(), a.get_content_type(), a.get_content()) for a in msg.iter_attachments()]
    assert got == [
        ("releve.pdf", "application/pdf", b"%PDF-1.7 fake"),
        ("data.xml", "application/xml", b"<a/>"),
    ]
    assert msg["Content-Language"] == "fr"


@pytest.mark.parametrize(
    ("channel", "attachment", "why"),
    [
        ("sms", Attachment("a.pdf", "application/pdf", b"x"), "only e-mails"),
        ("email", Attachment("../etc/passwd", "application/pdf", b"x"), "file name"),
        ("email", Attachment("a.pdf", "pdf", b"x"), "MIME type"),
        ("email", Attachment("a.pdf", "application/pdf", b""), "no content"),
        ("email", Attachment("a.pdf", "application/pdf", b"x" * (10 * 1024 * 1024 + 1)), "at most"),
    ],
)
def test_attachments_that_cannot_be_sent_are_refused_when_queued(
    runtime, platform, clock, channel, attachment, why
):
    with pytest.raises(ValueError, match=why), runtime.sessions() as db, db.begin():
        enqueue(
            db,
            platform_id=platform.id,
            channel=channel,
            template="accounts.password_reset",
            recipient="+33612345678" if channel == "sms" else address(),
            payload=RESET,
            now=clock.now(),
            attachments=[attachment],
        )
