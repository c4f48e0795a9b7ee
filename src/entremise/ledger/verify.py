"""`verify`: every invariant of the ledger, checked against its entries (`entremise ledger verify`).

The cached balance rows are the ledger's balance checkpoints: what a balance read returns without
summing entries. `verify` proves each one equals the sums of its account's entries.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from entremise.ledger import store
from entremise.ledger.domain import reversed_transfers
from entremise.ledger.store import ACCOUNTS, BALANCES, ENTRIES, HOLDS, TXS


@dataclass(frozen=True)
class Discrepancy:
    platform_id: str
    check: str
    subject: str
    detail: str

    def __str__(self) -> str:
        return f"[{self.platform_id}] {self.check} {self.subject}: {self.detail}"


def verify(db: Session, *, platform_id: str | None = None) -> list[Discrepancy]:
    """Check every invariant of the ledger against its entries; an empty list means all hold.

    Cached balances equal the sums of entries (and mirror their account's frozen flag); every
    transaction's posted entries sum to zero per currency; entries are in their account's currency
    and platform; no-negative accounts have posted - held >= 0, no-positive ones posted <= 0,
    nothing holds a negative amount; every hold keeps 0 <= remaining and captured + remaining <=
    amount; every reversal mirrors its original.
    """
    conn = db.connection()
    found: list[Discrepancy] = []

    def scoped(q: Any, column: Any) -> Any:
        return q.where(column == platform_id) if platform_id is not None else q

    accounts = {a.id: a for a in conn.execute(scoped(select(ACCOUNTS), ACCOUNTS.c.platform_id))}
    cached = {b.account_id: b for b in conn.execute(scoped(select(BALANCES), BALANCES.c.platform_id))}
    sums: dict[tuple[str, str], int] = {}
    for account_id, bucket, total in conn.execute(
        scoped(
            select(ENTRIES.c.account_id, ENTRIES.c.bucket, func.sum(ENTRIES.c.amount)).group_by(
                ENTRIES.c.account_id, ENTRIES.c.bucket
            ),
            ENTRIES.c.platform_id,
        )
    ):
        sums[(account_id, bucket)] = int(total)
    for account_id in sorted(set(accounts) | {a for a, _ in sums} | set(cached)):
        acc = accounts.get(account_id)
        pid = acc.platform_id if acc else (cached[account_id].platform_id if account_id in cached else "?")
        if acc is None:
            found.append(
                Discrepancy(pid, "entries", account_id, "entries or balance of an account outside this scope")
            )
            continue
        posted, held = sums.get((account_id, "posted"), 0), sums.get((account_id, "held"), 0)
        row = cached.get(account_id)
        if row is None:
            found.append(Discrepancy(pid, "balance", account_id, "no cached balance row"))
        else:
            if (row.posted, row.held) != (posted, held):
                found.append(
                    Discrepancy(
                        pid,
                        "balance",
                        account_id,
                        f"cached posted={row.posted} held={row.held}, entries posted={posted} held={held}",
                    )
                )
            if row.currency != acc.currency or row.platform_id != acc.platform_id:
                found.append(
                    Discrepancy(pid, "balance", account_id, "balance row in another currency or platform")
                )
            if row.frozen != acc.frozen:
                found.append(
                    Discrepancy(
                        pid,
                        "frozen",
                        account_id,
                        f"account frozen={acc.frozen} but its balance row says frozen={row.frozen}",
                    )
                )
        if held < 0:
            found.append(Discrepancy(pid, "held", account_id, f"holds a negative amount ({held})"))
        if acc.no_negative and posted - held < 0:
            found.append(Discrepancy(pid, "no-negative", account_id, f"available {posted - held} < 0"))
        if acc.no_positive and posted > 0:
            found.append(Discrepancy(pid, "no-positive", account_id, f"posted {posted} > 0"))

    unbalanced = select(
        ENTRIES.c.platform_id, ENTRIES.c.transaction_id, ENTRIES.c.currency, func.sum(ENTRIES.c.amount)
    ).where(ENTRIES.c.bucket == "posted")
    unbalanced = scoped(unbalanced, ENTRIES.c.platform_id).group_by(
        ENTRIES.c.platform_id, ENTRIES.c.transaction_id, ENTRIES.c.currency
    )
    for pid, tx_id, currency, total in conn.execute(unbalanced.having(func.sum(ENTRIES.c.amount) != 0)):
        found.append(Discrepancy(pid, "zero-sum", tx_id, f"posted entries sum to {total} {currency}"))

    mismatched = (
        select(ENTRIES.c.platform_id, ENTRIES.c.id, ENTRIES.c.currency, ACCOUNTS.c.currency)
        .join(ACCOUNTS, ACCOUNTS.c.id == ENTRIES.c.account_id)
        .join(TXS, TXS.c.id == ENTRIES.c.transaction_id)
        .where(
            (ENTRIES.c.currency != ACCOUNTS.c.currency)
            | (ENTRIES.c.platform_id != ACCOUNTS.c.platform_id)
            | (ENTRIES.c.platform_id != TXS.c.platform_id)
            | ~ENTRIES.c.bucket.in_(("posted", "held"))
        )
    )
    for pid, entry_id, cur, acc_cur in conn.execute(scoped(mismatched, ENTRIES.c.platform_id)):
        found.append(
            Discrepancy(
                pid, "entry", str(entry_id), f"entry in {cur} on a {acc_cur} account, or across platforms"
            )
        )

    holds = {h.id: h for h in conn.execute(scoped(select(HOLDS), HOLDS.c.platform_id))}
    hold_sums: dict[tuple[str, str, str], int] = {}
    for hold_id, account_id, bucket, total in conn.execute(
        scoped(
            select(ENTRIES.c.hold_id, ENTRIES.c.account_id, ENTRIES.c.bucket, func.sum(ENTRIES.c.amount))
            .where(ENTRIES.c.hold_id.is_not(None))
            .group_by(ENTRIES.c.hold_id, ENTRIES.c.account_id, ENTRIES.c.bucket),
            ENTRIES.c.platform_id,
        )
    ):
        hold_sums[(hold_id, account_id, bucket)] = int(total)
    for (hold_id, account_id, bucket), total in sorted(hold_sums.items()):
        h = holds.get(hold_id)
        if h is None:
            found.append(Discrepancy("?", "hold", hold_id, "entries of an unknown hold"))
        elif bucket == "held" and account_id != h.account_id and total:
            found.append(
                Discrepancy(h.platform_id, "hold", hold_id, f"held entries on another account {account_id}")
            )
    for hold_id, h in holds.items():
        remaining = hold_sums.get((hold_id, h.account_id, "held"), 0)
        captured = -hold_sums.get((hold_id, h.account_id, "posted"), 0)
        if remaining < 0 or captured < 0 or captured + remaining > h.amount:
            found.append(
                Discrepancy(
                    h.platform_id,
                    "hold",
                    hold_id,
                    f"amount {h.amount}, captured {captured}, still held {remaining}",
                )
            )

    reversals = conn.execute(
        scoped(select(TXS.c.id, TXS.c.platform_id, TXS.c.reverses_id), TXS.c.platform_id).where(
            TXS.c.reverses_id.is_not(None)
        )
    ).all()
    for rev_id, rev_platform, reverses_id in reversals:
        mine = sorted(
            (t.debit, t.credit, t.amount.amount, t.amount.currency) for t in store.transfers_of(conn, rev_id)
        )
        theirs = sorted(
            (t.debit, t.credit, t.amount.amount, t.amount.currency)
            for t in reversed_transfers(store.transfers_of(conn, reverses_id))
        )
        if mine != theirs:
            found.append(Discrepancy(rev_platform, "reversal", rev_id, f"does not mirror {reverses_id}"))
    return found
