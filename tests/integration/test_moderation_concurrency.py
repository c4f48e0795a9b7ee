"""Two staff members acting at once: one decision per item, one standing sanction per kind, one
wallet freeze (on SQLite and PostgreSQL). COMMON-MODERATION-1, LAW-DSA-17, EXPERT-SANCTION-1."""

from __future__ import annotations

import threading
from collections import Counter

from accounts_helpers import make_staff, user_session
from moderation_helpers import notice_body
from sqlalchemy import func, select

from entremise.accounts import service as accounts
from entremise.kernel.errors import Conflict
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType
from entremise.moderation import service as moderation
from entremise.moderation.models import StatementOfReasons
from entremise.sanctions import service as sanctions


def race(n, fn):  # type: ignore[no-untyped-def]
    barrier = threading.Barrier(n)
    outcomes: list[object] = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        try:
            outcomes[i] = fn(i)
        except Exception as exc:  # collected and asserted on below
            outcomes[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return outcomes


def _staff_ids(runtime, platform, n: int) -> list[str]:  # type: ignore[no-untyped-def]
    ids = []
    for _ in range(n):
        email = make_staff(runtime, platform)
        with runtime.sessions() as db, db.begin():
            [u] = [
                v
                for v in accounts.list_users(db, platform_id=platform.id, role="staff", limit=1000)
                if v.email == email
            ]
        ids.append(u.id)
    return ids


def test_COMMON_MODERATION_1_two_staff_deciding_one_item_at_once_make_one_decision(
    client, runtime, platform
) -> None:
    author, _e, _t = user_session(client, platform)
    with runtime.sessions() as db, db.begin():
        notice, _token = moderation.submit_notice(
            db, platform=platform, fields=notice_body(author), ip="198.51.100.1", now=runtime.clock.now()
        )
    staff = _staff_ids(runtime, platform, 2)

    def decide(i: int):  # type: ignore[no-untyped-def]
        with runtime.sessions() as db, db.begin():
            return moderation.decide(
                db,
                platform=platform,
                item_id=notice.item_id,
                staff_id=staff[i],
                decision="remove" if i == 0 else "restrict",
                facts="insult",
                ground_kind="terms",
                ground="§10",
                rules=["COMMON-MODERATION-1"],
                now=runtime.clock.now(),
            )

    outcomes = race(2, decide)
    assert Counter(type(o).__name__ for o in outcomes) == Counter({"ItemView": 1, "Conflict": 1}), outcomes
    with runtime.sessions() as db:
        count = db.scalar(
            select(func.count())
            .select_from(StatementOfReasons)
            .where(StatementOfReasons.platform_id == platform.id)
        )
    assert count == 1


def test_EXPERT_SANCTION_1_two_wallet_freezes_at_once_freeze_once(client, runtime, platform) -> None:
    user, _e, _t = user_session(client, platform)
    with runtime.sessions() as db, db.begin():
        wallet = ledger.get_or_open_account(
            db,
            platform_id=platform.id,
            type=AccountType.PROVIDER_WALLET,
            owner_id=user,
            now=runtime.clock.now(),
        )
    staff = _staff_ids(runtime, platform, 2)

    def freeze(i: int):  # type: ignore[no-untyped-def]
        with runtime.sessions() as db, db.begin():
            return sanctions.impose(
                db,
                platform_id=platform.id,
                user_id=user,
                kind="wallet_freeze",
                rules=["EXPERT-SANCTION-1"],
                facts=f"decision {i}",
                decided_by=staff[i],
                now=runtime.clock.now(),
            )

    outcomes = race(2, freeze)
    assert sum(isinstance(o, sanctions.SanctionView) for o in outcomes) == 1, outcomes
    assert sum(isinstance(o, Conflict) for o in outcomes) == 1, outcomes
    with runtime.sessions() as db, db.begin():
        assert ledger.get_account(db, platform_id=platform.id, account_id=wallet.id).frozen
        assert len(sanctions.active_sanctions(db, platform_id=platform.id, user_id=user)) == 1
