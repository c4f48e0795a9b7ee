"""Invoice numbers, credit-note caps and the monthly run under concurrency, on SQLite and
PostgreSQL: threads with their own sessions on the shared engine, released together."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import date

import pytest
from billing_helpers import CONSUMER, billing_platform, customer, item
from sqlalchemy import func, select

from entremise.billing import run
from entremise.billing import service as billing
from entremise.billing.models import BillableItem, Invoice
from entremise.kernel.errors import Conflict
from entremise.notify.outbox import messages_for

THREADS = 12


def race(n, fn):
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def go(i):
        barrier.wait()
        try:
            outcomes[i] = fn(i)
        except Exception as exc:  # collected and asserted on by the caller
            outcomes[i] = exc

    threads = [threading.Thread(target=go, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_concurrent_issues_get_unique_continuous_numbers(runtime):
    p = billing_platform(runtime)
    customers = [customer(runtime, p, CONSUMER) for _ in range(THREADS)]
    items = [item(runtime, p, c) for c in customers]

    def issue(i):
        with runtime.sessions() as db, db.begin():
            v = billing.invoice_items(
                db, platform=p, customer_id=customers[i], item_ids=[items[i]], now=runtime.clock.now()
            )
            if i % 4 == 3:
                raise RuntimeError("this caller rolls back after its issue")
            return v.number

    outcomes = race(THREADS, issue)
    numbers = [o for o in outcomes if isinstance(o, str)]
    assert Counter(type(o).__name__ for o in outcomes) == {
        "str": THREADS - THREADS // 4,
        "RuntimeError": THREADS // 4,
    }
    assert sorted(numbers) == [f"FA-2026-{n:06d}" for n in range(1, len(numbers) + 1)]
    with runtime.sessions() as db, db.begin():
        stored = list(
            db.scalars(select(Invoice.seq).where(Invoice.platform_id == p.id).order_by(Invoice.seq))
        )
    assert stored == list(range(1, len(numbers) + 1))


@pytest.mark.rule("LAW-INVOICE-1")
def test_LAW_INVOICE_1_concurrent_credit_notes_never_exceed_the_invoice(runtime):
    p = billing_platform(runtime)
    c = customer(runtime, p, CONSUMER)
    with runtime.sessions() as db, db.begin():
        v = billing.invoice_items(
            db,
            platform=p,
            customer_id=c,
            item_ids=[item(runtime, p, c, price="100.00")],
            now=runtime.clock.now(),
        )

    def credit(_i):
        with runtime.sessions() as db, db.begin():
            return billing.issue_credit_note(
                db,
                platform=p,
                invoice_id=v.id,
                reason="remboursement partiel",
                lines=[billing.CreditLine("Remboursement", "1", "30.00", "20")],
                now=runtime.clock.now(),
            ).number

    outcomes = race(THREADS, credit)
    kinds = Counter(type(o).__name__ for o in outcomes)
    assert kinds == {"str": 3, "Conflict": THREADS - 3}  # 3 × 30 ≤ 100 < 4 × 30
    assert all("remains to credit" in str(o) for o in outcomes if isinstance(o, Conflict))
    with runtime.sessions() as db, db.begin():
        assert billing.credited_total(db, invoice_id=v.id) == 3 * 3600


@pytest.mark.rule("KIDRIDE-INVOICE-1")
def test_KIDRIDE_INVOICE_1_two_monthly_runs_at_once_invoice_each_item_once(runtime, clock):
    p = billing_platform(runtime)
    customers = [customer(runtime, p, CONSUMER) for _ in range(3)]
    for c in customers:
        for day in (3, 17):
            item(runtime, p, c, day=date(2026, 11, day))
    clock.set(clock.now().replace(month=12, day=1))

    def go(_i):
        return run.run_month(runtime.sessions, platform=p, month="2026-11", now=clock.now()).issued

    outcomes = race(2, go)
    assert not any(isinstance(o, Exception) for o in outcomes), outcomes
    issued = [n for o in outcomes for n in o]  # type: ignore[union-attr]
    assert sorted(issued) == ["FA-2026-000001", "FA-2026-000002", "FA-2026-000003"]
    with runtime.sessions() as db, db.begin():
        assert db.scalar(select(func.count()).select_from(Invoice).where(Invoice.platform_id == p.id)) == 3
        open_left = db.scalar(
            select(func.count())
            .select_from(BillableItem)
            .where(BillableItem.platform_id == p.id, BillableItem.invoice_id.is_(None))
        )
        assert open_left == 0
        mails = messages_for(db, platform_id=p.id, template="billing.document_issued")
    assert len(mails) == 3 and len({m.user_id for m in mails}) == 3
