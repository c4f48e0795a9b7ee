"""The worker's jobs: one round runs due timers and delivers the outbox."""

from __future__ import annotations

from email import message_from_bytes
from pathlib import Path

from entremise.notify import outbox
from entremise.notify.models import OutboxMessage
from entremise.worker.runner import run_once


def test_worker_rounds_deliver_queued_mail_to_the_mailbox(runtime, platform):
    """The database is shared by the tests of one worker process, so other tests may have left
    mail pending before ours: rounds run (oldest first) until the backlog is drained."""
    with runtime.sessions() as db, db.begin():
        msg = outbox.enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="accounts.password_changed",
            recipient="ana@example.org",
            payload={"platform_name": platform.name},
            now=runtime.clock.now(),
        )
        msg_id = msg.id
    counts = run_once(runtime)
    for _round in range(50):
        if run_once(runtime)["outbox"] == 0:
            break
    assert {
        "timers",
        "outbox",
        "idempotency-purge",
        "privacy-purge",
        "billing-monthly-run",
        "billing-documents",
    } <= set(counts)
    with runtime.sessions() as db, db.begin():
        assert db.get(OutboxMessage, msg_id).status == "sent"
    files = list(Path(runtime.settings.mail_dir).glob("*.eml"))
    mails = [message_from_bytes(f.read_bytes()) for f in files]
    assert "ana@example.org" in [m["To"] for m in mails]
