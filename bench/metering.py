"""Metered sessions: the call-event webhook (the hot path) and rating in pure Python.

- POST /api/v1/telephony/webhooks/sandbox (signature check, dedupe by event id, the session's
  facts re-read, the event stored) against GET /healthz of the same server in the same run;
- rating ended sessions (`metering.rating.rate`) per second, against a loop doing only the
  arithmetic of a per-started-minute bill (the floor of what any rating in Python can cost).
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from datetime import UTC, datetime

import httpx

from bench.http import load, serve
from bench.registry import Context, Measurement, benchmark
from entremise.config import DEV_SECRET
from entremise.kernel import signing
from entremise.metering import rating
from entremise.telephony.sandbox import webhook_secret

SESSIONS = 200


def _prepare(url: str) -> list[str]:
    """A platform, a provider with a tariff, a funded client and `SESSIONS` live calls: their references."""
    from entremise.accounts import service as accounts
    from entremise.accounts.service import RequestMeta
    from entremise.db import migrate
    from entremise.db.engine import make_engine, make_sessionmaker
    from entremise.kernel.clock import SystemClock
    from entremise.kernel.money import Money
    from entremise.ledger import service as ledger
    from entremise.ledger.domain import AccountType, Transfer
    from entremise.metering import service as metering
    from entremise.platforms import service as platforms

    engine = make_engine(url)
    migrate.upgrade(engine)
    now = SystemClock().now()
    sessions = make_sessionmaker(engine)
    with sessions() as db, db.begin():
        p = platforms.create_platform(db, slug=f"bench-m-{os.getpid()}", name="Bench", now=now)
        meta = RequestMeta(ip="127.0.0.1", user_agent="bench", device_id=None)
        prov = accounts.register(
            db,
            platform=p,
            email="provider@example.com",
            password="correct horse battery staple 1",
            role="provider",
            fields={},
            meta=meta,
            now=now,
        )
        cli = accounts.register(
            db,
            platform=p,
            email="client@example.com",
            password="correct horse battery staple 1",
            role="client",
            fields={},
            meta=meta,
            now=now,
        )
        metering.set_tariff(
            db,
            platform=p,
            provider_id=prov.id,
            actor_id=prov.id,
            is_staff=False,
            rate_per_minute=200,
            free_minutes=0,
            packages=[],
            phone="+33142685300",
            commission_percent=None,
            now=now,
        )
        src = ledger.get_or_open_account(db, platform_id=p.id, type=AccountType.PSP_CLEARING, now=now).id
        dst = ledger.get_or_open_account(
            db, platform_id=p.id, type=AccountType.CLIENT_CREDIT, now=now, owner_id=cli.id
        ).id
        ledger.post_transaction(
            db,
            platform_id=p.id,
            transfers=[Transfer(src, dst, Money(SESSIONS * 10_000))],
            idempotency_key="bench-fund",
            code="bench.credit",
            rules=["CONSULT-CREDIT-1"],
            cause=("bench", cli.id),
            now=now,
        )
        refs = []
        for _ in range(SESSIONS):
            v = metering.start(
                db,
                platform=p,
                client_id=cli.id,
                provider_id=prov.id,
                mode="phone",
                phone="+33612345678",
                budget=5000,
                package_minutes=None,
                options={"sandbox": {"answer_after": 86_400}},
                now=now,
            )
            refs.append(str(v.reference))
    engine.dispose()
    return refs


def _post_load(base_url: str, refs: list[str], requests: int, threads: int) -> tuple[float, int]:
    secret = webhook_secret(DEV_SECRET)
    per_thread = [requests // threads + (1 if i < requests % threads else 0) for i in range(threads)]
    errors = [0] * threads
    start = threading.Barrier(threads + 1)

    def body(ref: str) -> bytes:
        event = {
            "id": f"evt_{uuid.uuid4().hex}",
            "type": "call.answered",
            "reference": ref,
            "occurred_at": datetime.now(UTC).isoformat(),
        }
        return json.dumps(event).encode()

    def worker(i: int) -> None:
        rng = random.Random(i)
        with httpx.Client(base_url=base_url, timeout=30) as client:
            start.wait()
            for _ in range(per_thread[i]):
                b = body(rng.choice(refs))
                header = signing.sign(secret, b, datetime.now(UTC))
                r = client.post(
                    "/api/v1/telephony/webhooks/sandbox", content=b, headers={signing.HEADER: header}
                )
                if r.status_code != 200:
                    errors[i] += 1

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    for t in pool:
        t.start()
    start.wait()
    began = time.perf_counter()
    for t in pool:
        t.join()
    return requests / (time.perf_counter() - began), sum(errors)


@benchmark("metering", "call-event webhooks per second, and ended sessions rated per second")
def metering_bench(ctx: Context) -> list[Measurement]:
    url = ctx.args.database_url or f"sqlite:///{ctx.workdir / 'metering.sqlite3'}"
    refs = _prepare(url)
    n, threads = ctx.args.requests, ctx.args.threads
    env = {"DATABASE_URL": url, "ENTREMISE_ENV": "development", "ENTREMISE_LOG_LEVEL": "WARNING"}
    with serve(["entremise.api.app:create_app", "--factory"], env) as server:
        hook_rps, hook_errors = _post_load(server.base_url, refs, n, threads)
        health_rps, health_errors = load(server.base_url, "/healthz", n, threads)
    if hook_errors or health_errors:
        ctx.notes.append(f"metering: {hook_errors + health_errors} requests did not answer 200")
    rated, floor = _rating(100_000)
    return [
        Measurement(
            "POST telephony webhook",
            hook_rps,
            "req/s",
            "GET /healthz (same server)",
            health_rps,
            note=f"{n} signed events over {SESSIONS} calls, {threads} threads (target: at least 50 %)",
        ),
        Measurement(
            "sessions rated",
            rated,
            "sessions/s",
            "bare per-minute arithmetic",
            floor,
            note="100,000 ended sessions, connection fee, mobile surcharge, free minutes, cap",
        ),
    ]


def _rating(count: int) -> tuple[float, float]:
    rng = random.Random(7)
    tariff = rating.Tariff(
        "per_minute",
        "EUR",
        rate_per_minute=199,
        connection_fee=125,
        mobile_surcharge_per_minute=10,
        free_minutes=5,
        cap=5000,
    )
    durations = [rng.randrange(0, 3 * 3600) for _ in range(count)]
    began = time.perf_counter()
    total = 0
    for d in durations:
        total += rating.rate(tariff, d, budget=10_000).total.amount
    rated = count / (time.perf_counter() - began)
    began = time.perf_counter()
    floor_total = 0
    for d in durations:
        floor_total += 125 + -(-d // 60) * 209
    floor = count / (time.perf_counter() - began)
    return rated, floor
