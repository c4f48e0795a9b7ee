"""The monthly invoice run (KIDRIDE-INVOICE-1): once per customer, repeatable, e-mailed with the
PDF through a real SMTP server; the CLI command and the worker jobs."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date

import pytest
from billing_helpers import BUSINESS, CONSUMER, billing_platform, customer, embedded, item
from sqlalchemy import select
from test_notify_delivery import SmtpServer, free_port, with_smtp
from typer.testing import CliRunner

from entremise.billing import documents, jobs, run
from entremise.billing import service as billing
from entremise.billing.models import BillingRun
from entremise.cli.main import app
from entremise.kernel.errors import InvalidInput
from entremise.notify.dispatch import deliver_due
from entremise.notify.outbox import attachments_of, messages_for


@pytest.fixture
def smtp() -> Iterator[SmtpServer]:
    server = SmtpServer(free_port())
    server.start()
    yield server
    server.stop()


@pytest.fixture
def december(clock):
    clock.set(clock.now().replace(month=12, day=1, hour=6))
    return clock


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_one_invoice_per_customer_and_a_second_run_issues_nothing(runtime, december):
    p = billing_platform(runtime)
    ada, bob = customer(runtime, p, CONSUMER), customer(runtime, p, BUSINESS)
    late = item(runtime, p, ada, day=date(2026, 10, 30), price="9.00")  # recorded late for October
    a1 = item(runtime, p, ada, day=date(2026, 11, 3))
    a2 = item(runtime, p, ada, day=date(2026, 11, 28), quantity="2")
    b1 = item(runtime, p, bob, day=date(2026, 11, 15), price="40.00")
    december_item = item(runtime, p, ada, day=date(2026, 12, 1))
    first = run.run_month(runtime.sessions, platform=p, month="2026-11", now=december.now())
    assert sorted(first.issued) == ["FA-2026-000001", "FA-2026-000002"] and first.refused == []
    with runtime.sessions() as db, db.begin():
        [of_ada] = billing.list_invoices(db, platform_id=p.id, customer_id=ada)
        [of_bob] = billing.list_invoices(db, platform_id=p.id, customer_id=bob)
        assert [ln.item_id for ln in of_ada.lines] == [late, a1, a2]
        assert [ln.item_id for ln in of_bob.lines] == [b1]
        assert (of_ada.supply_start, of_ada.supply_end, of_ada.issue_date) == (
            date(2026, 10, 30),
            date(2026, 11, 28),
            date(2026, 12, 1),
        )
        assert of_ada.run_month == "2026-11" and "KIDRIDE-INVOICE-1" in of_ada.rules
        assert (of_ada.net.amount, of_ada.vat.amount, of_ada.gross.amount) == (5400, 1080, 6480)
        [open_item] = billing.list_items(db, platform_id=p.id, status="open")
        assert open_item.id == december_item
        mails = messages_for(db, platform_id=p.id, template="billing.document_issued")
        assert sorted(m.user_id for m in mails) == sorted([ada, bob])
        run_row = db.get(BillingRun, (p.id, "2026-11"))
        assert run_row is not None and run_row.finished_at is not None and run_row.invoices == 2
    second = run.run_month(runtime.sessions, platform=p, month="2026-11", now=december.now())
    assert second.issued == [] and second.refused == []
    with runtime.sessions() as db, db.begin():
        assert len(billing.list_invoices(db, platform_id=p.id)) == 2
        assert len(messages_for(db, platform_id=p.id, template="billing.document_issued")) == 2


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_a_month_not_over_is_refused_and_an_incomplete_customer_waits(runtime, december):
    p = billing_platform(runtime)
    with pytest.raises(InvalidInput, match="not over yet"):
        run.run_month(runtime.sessions, platform=p, month="2026-12", now=december.now())
    with pytest.raises(InvalidInput, match="YYYY-MM"):
        run.run_month(runtime.sessions, platform=p, month="2026-1", now=december.now())
    ok, nameless = customer(runtime, p, CONSUMER), customer(runtime, p)
    item(runtime, p, ok)
    item(runtime, p, nameless)
    result = run.run_month(runtime.sessions, platform=p, month="2026-11", now=december.now())
    assert result.issued == ["FA-2026-000001"]
    assert [c for c, _ in result.refused] == [nameless] and "billing profile is incomplete" in result.refused[
        0
    ][1]
    with runtime.sessions() as db, db.begin():
        assert not run.is_finished(db, platform_id=p.id, month="2026-11")  # the worker will try again


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_the_invoice_is_emailed_with_its_pdf_through_smtp(runtime, december, smtp):
    p = billing_platform(runtime)
    bob = customer(runtime, p, BUSINESS)
    item(runtime, p, bob, price="40.00")
    [number] = run.run_month(runtime.sessions, platform=p, month="2026-11", now=december.now()).issued
    rt = with_smtp(runtime, smtp.port)
    assert deliver_due(rt, december.now(), platform_id=p.id) == 1
    [(_from, rcpts, msg)] = smtp.handler.received
    with runtime.sessions() as db, db.begin():
        [v] = billing.list_invoices(db, platform_id=p.id)
        stored = documents.get_document(db, platform_id=p.id, invoice_id=v.id, kind="pdf")
    assert stored is not None and v.number == number
    assert rcpts == [v.buyer["email"]]
    assert msg["Subject"] == f"Votre facture {number} – {p.name}"
    assert msg.get_content_type() == "multipart/mixed"
    [attachment] = list(msg.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == f"{number}.pdf"
    assert attachment.get_content() == stored.content  # the very bytes a download returns
    assert "factur-x.xml" in embedded(stored.content)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None and "48,00" in body.get_content() and "Factur-X" in body.get_content()


def test_a_queued_attachment_is_kept_with_its_message(runtime, december):
    p = billing_platform(runtime)
    c = customer(runtime, p, CONSUMER)
    item(runtime, p, c)
    run.run_month(runtime.sessions, platform=p, month="2026-11", now=december.now())
    with runtime.sessions() as db, db.begin():
        [mail] = messages_for(db, platform_id=p.id, template="billing.document_issued")
        [pdf] = attachments_of(db, mail.id)
    assert pdf.filename == "FA-2026-000001.pdf" and pdf.content.startswith(b"%PDF-")


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_the_cli_runs_a_month(monkeypatch, runtime, database_url, december):
    from entremise.config import get_settings
    from entremise.kernel import clock as clock_module

    p = billing_platform(runtime)
    c = customer(runtime, p, CONSUMER)
    item(runtime, p, c)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ENTREMISE_MAIL_DIR", runtime.settings.mail_dir)
    monkeypatch.setattr(clock_module.SystemClock, "now", lambda self: december.now())
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        done = runner.invoke(app, ["billing", "run", "--month", "2026-11", "--platform", p.slug])
        assert done.exit_code == 0, done.output
        assert f"{p.slug} 2026-11: 1 invoices issued (FA-2026-000001)" in done.output
        again = runner.invoke(app, ["billing", "run", "--month", "2026-11", "--platform", p.slug])
        assert again.exit_code == 0 and "0 invoices issued" in again.output
        early = runner.invoke(app, ["billing", "run", "--month", "2026-12", "--platform", p.slug])
        assert early.exit_code == 2 and "not over yet" in early.output
        unknown = runner.invoke(
            app, ["billing", "run", "--month", "2026-11", "--platform", f"no-{uuid.uuid4().hex[:6]}"]
        )
        assert unknown.exit_code == 2
        assert runner.invoke(app, ["billing", "run", "--help"]).exit_code == 0
    finally:
        get_settings.cache_clear()


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_the_worker_runs_last_month_once_on_platforms_that_ask(runtime, clock):
    on = billing_platform(runtime, monthly_run=True, monthly_run_day=2)
    off = billing_platform(runtime)
    for p in (on, off):
        item(runtime, p, customer(runtime, p, CONSUMER), day=date(2026, 11, 5))
    clock.set(clock.now().replace(month=12, day=1, hour=12))  # before the platform's run day
    assert (on.id, "2026-11") not in {(pl.id, m) for pl, m in _due(runtime, clock)}
    clock.set(clock.now().replace(day=2))
    assert jobs.monthly_runs(runtime, clock.now()) >= 1
    with runtime.sessions() as db, db.begin():
        assert len(billing.list_invoices(db, platform_id=on.id)) == 1
        assert billing.list_invoices(db, platform_id=off.id) == []
        assert db.scalar(select(BillingRun.finished_at).where(BillingRun.platform_id == on.id)) is not None
    assert (on.id, "2026-11") not in {(pl.id, m) for pl, m in _due(runtime, clock)}


def _due(runtime, clock):
    with runtime.sessions() as db, db.begin():
        return run.due_runs(db, now=clock.now())


def test_the_documents_job_renders_invoices_issued_by_other_modules(runtime, clock):
    p = billing_platform(runtime)
    c = customer(runtime, p, CONSUMER)
    with runtime.sessions() as db, db.begin():  # a pack issues inside its own transaction
        v = billing.invoice_items(
            db, platform=p, customer_id=c, item_ids=[item(runtime, p, c)], now=clock.now()
        )
    with runtime.sessions() as db, db.begin():
        assert documents.without_documents(db, limit=10, platform_id=p.id) == [(p.id, v.id)]
    assert jobs.pending_documents(runtime, clock.now(), platform_id=p.id) == 1
    with runtime.sessions() as db, db.begin():
        assert documents.get_document(db, platform_id=p.id, invoice_id=v.id, kind="pdf") is not None
        assert len(messages_for(db, platform_id=p.id, template="billing.document_issued")) == 1
        assert documents.without_documents(db, limit=10, platform_id=p.id) == []
    assert jobs.pending_documents(runtime, clock.now(), platform_id=p.id) == 0


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_an_unfinished_run_is_retried_an_hour_later_not_every_round(runtime, december):
    from datetime import timedelta

    p = billing_platform(runtime, monthly_run=True)
    item(runtime, p, customer(runtime, p), day=date(2026, 11, 5))  # a customer with no billing address
    assert jobs.monthly_runs(runtime, december.now()) == 0
    assert (p.id, "2026-11") not in {(pl.id, m) for pl, m in _due(runtime, december)}
    december.advance(timedelta(minutes=61))
    assert (p.id, "2026-11") in {(pl.id, m) for pl, m in _due(runtime, december)}
