"""The funding API: the one place where other modules reserve a client's money and spend it.

    with db.begin():
        r = funding.reserve(db, platform_id=..., client_id=..., amount=Money(3000), cause=("djob_order", id),
                            idempotency_key=f"djob:{id}:reserve", now=now, actor=Actor("user", client))
    ...
    with db.begin():
        funding.settle(db, platform_id=..., reservation_id=r.id, due=Money(2500),
                       split=[(provider_wallet, Money(1750)), (revenue, Money(750))],
                       rules=["CONSULT-DJOB-1"], idempotency_key=f"djob:{id}:settle", now=now)

A reservation holds the amount on the client's bonus balance first and the rest on paid credit
(the spending order, CONSULT-CREDIT-1), so the money stays on the client's accounts, counted as
held. Settling captures `due` from those holds to the destinations of the split and releases the
rest; money from the bonus pays the destinations like any other (the provider gets their share,
the platform bears the promotion, which its promotions account funded when the bonus was given).
When a reservation draws on both balances, settling writes one capture per hold: two ledger
transactions in the caller's one database transaction, so they commit or fail together.

Idempotent: `reserve` with a key already used returns the first reservation (a different request
with the same key is a Conflict); `settle` and `release` retried with the same key return the same
result, and a reservation already ended by another key is a Conflict.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import NoReturn

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.ledger import service as ledger
from entremise.ledger.domain import InsufficientFunds, check_rules, check_text, fingerprint
from entremise.wallets import domain
from entremise.wallets.models import Reservation
from entremise.wallets.service import bonus_account, paid_account

Split = Sequence[tuple[str, Money]]
ATTEMPTS = 32  # each failed attempt means another spender moved the balance since our read


@dataclass(frozen=True)
class ReservationView:
    id: str
    client_id: str
    amount: Money
    from_bonus: Money
    from_paid: Money
    bonus_hold_id: str | None
    paid_hold_id: str | None
    cause: tuple[str, str]
    status: str  # open | settled | released
    due: Money | None
    transaction_ids: tuple[str, ...] = ()
    replayed: bool = False

    @staticmethod
    def of(
        row: Reservation, *, transaction_ids: Sequence[str] = (), replayed: bool = False
    ) -> ReservationView:
        return ReservationView(
            id=row.id,
            client_id=row.client_id,
            amount=Money(row.amount, row.currency),
            from_bonus=Money(row.bonus_amount, row.currency),
            from_paid=Money(row.paid_amount, row.currency),
            bonus_hold_id=row.bonus_hold_id,
            paid_hold_id=row.paid_hold_id,
            cause=(row.cause_type, row.cause_id),
            status=row.status,
            due=Money(row.due, row.currency) if row.due is not None else None,
            transaction_ids=tuple(transaction_ids),
            replayed=replayed,
        )


def _check(key: str, cause: tuple[str, str], extra: list[FieldError]) -> None:
    errors = list(extra) + check_text(key, "idempotency_key", 190)
    if not (isinstance(cause, tuple | list) and len(cause) == 2):
        errors.append(FieldError("cause", "an (object_type, object_id) pair"))
    else:
        errors += check_text(cause[0], "cause.object_type", 40) + check_text(cause[1], "cause.object_id", 64)
    if errors:
        raise InvalidInput(errors)


def _by_key(db: Session, platform_id: str, key: str) -> Reservation | None:
    return db.scalar(
        select(Reservation).where(Reservation.platform_id == platform_id, Reservation.idempotency_key == key)
    )


def _replay(row: Reservation, digest: str) -> ReservationView:
    if row.request_hash != digest:
        raise Conflict(
            f"idempotency key {row.idempotency_key!r} was already used for a different reservation",
            extra={"reservation_id": row.id},
        )
    return ReservationView.of(row, replayed=True)


def reserve(
    db: Session,
    *,
    platform_id: str,
    client_id: str,
    amount: Money,
    cause: tuple[str, str],
    idempotency_key: str,
    now: datetime,
    actor: Actor | None = None,
    rules: Sequence[str] = (domain.RULE_CREDIT,),
    code: str = "wallet.reserved",
) -> ReservationView:
    """Hold `amount` of the client's money: bonus first, then paid credit (CONSULT-CREDIT-1).
    InsufficientFunds (409, `available` in the problem) when both together fall short."""
    extra = (
        [] if isinstance(amount, Money) and amount.is_positive else [FieldError("amount", "must be positive")]
    )
    extra += check_text(client_id, "client_id", 36) + check_rules(rules)
    _check(idempotency_key, cause, extra)
    digest = fingerprint(
        {
            "client": client_id,
            "amount": [amount.amount, amount.currency],
            "cause": list(cause),
            "rules": list(rules),
        }
    )
    existing = _by_key(db, platform_id, idempotency_key)
    if existing is not None:
        return _replay(existing, digest)
    bonus = bonus_account(db, platform_id, client_id, amount.currency, now)
    paid = paid_account(db, platform_id, client_id, amount.currency, now)
    for _attempt in range(ATTEMPTS):
        bonus_avail = ledger.balance(db, platform_id=platform_id, account_id=bonus).available
        paid_avail = ledger.balance(db, platform_id=platform_id, account_id=paid).available
        decision = domain.allocate(amount, bonus_available=bonus_avail, paid_available=paid_avail)
        if decision.outcome is None:
            _insufficient(amount, bonus_avail, paid_avail, paid)
        alloc = decision.outcome
        reservation_id = new_id()
        try:
            with db.begin_nested():
                holds: dict[str, str | None] = {"bonus": None, "paid": None}
                for name, account, part in (("bonus", bonus, alloc.bonus), ("paid", paid, alloc.paid)):
                    if part.is_positive:
                        holds[name] = ledger.hold(
                            db,
                            platform_id=platform_id,
                            account_id=account,
                            amount=part,
                            idempotency_key=f"reservation:{reservation_id}:{name}",
                            code=code,
                            rules=list(rules),
                            cause=cause,
                            now=now,
                            reason=f"{part} reserved from the {name} balance ({decision.reason})",
                            actor=actor,
                        ).id
                row = Reservation(
                    id=reservation_id,
                    platform_id=platform_id,
                    client_id=client_id,
                    idempotency_key=idempotency_key,
                    request_hash=digest,
                    currency=amount.currency,
                    amount=amount.amount,
                    bonus_amount=alloc.bonus.amount,
                    paid_amount=alloc.paid.amount,
                    bonus_hold_id=holds["bonus"],
                    paid_hold_id=holds["paid"],
                    cause_type=cause[0],
                    cause_id=cause[1],
                    status="open",
                    created_at=now,
                )
                db.add(row)
                db.flush()
            return ReservationView.of(row)
        except InsufficientFunds:
            continue  # a concurrent spender took part of what we read: read again, under our lock
        except IntegrityError:
            # the same key reserved concurrently: it committed first; ours is rolled back
            first = _by_key(db, platform_id, idempotency_key)
            if first is None:
                raise
            return _replay(first, digest)
    bonus_avail = ledger.balance(db, platform_id=platform_id, account_id=bonus).available
    paid_avail = ledger.balance(db, platform_id=platform_id, account_id=paid).available
    _insufficient(amount, bonus_avail, paid_avail, paid)


def _insufficient(amount: Money, bonus_avail: Money, paid_avail: Money, account_id: str) -> NoReturn:
    zero = Money.zero(amount.currency)
    available = max(bonus_avail, zero) + max(paid_avail, zero)
    raise InsufficientFunds(
        f"insufficient funds: {amount} needed, {available} available",
        rules=[domain.RULE_CREDIT],
        extra={
            "available": available.amount,
            "needed": amount.amount,
            "missing": (amount - available).amount,
            "currency": amount.currency,
            "account_id": account_id,
        },
    )


def _locked(db: Session, platform_id: str, reservation_id: str) -> Reservation:
    row = db.scalar(
        select(Reservation)
        .where(Reservation.id == reservation_id, Reservation.platform_id == platform_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"no reservation {reservation_id}")
    return row


def get(db: Session, *, platform_id: str, reservation_id: str) -> ReservationView:
    row = db.get(Reservation, reservation_id)
    if row is None or row.platform_id != platform_id:
        raise NotFound(f"no reservation {reservation_id}")
    return ReservationView.of(row)


def _ended(row: Reservation, key: str, status: str) -> ReservationView | None:
    """A retry of the call that ended the reservation returns it; any other end is a Conflict."""
    if row.status == "open":
        return None
    if row.end_key == key and row.status == status:
        return ReservationView.of(row, replayed=True)
    raise Conflict(f"reservation {row.id} is {row.status}", extra={"reservation_id": row.id})


def settle(
    db: Session,
    *,
    platform_id: str,
    reservation_id: str,
    due: Money,
    split: Split,
    rules: Sequence[str],
    idempotency_key: str,
    now: datetime,
    code: str = "wallet.settled",
    reason: str = "",
    actor: Actor | None = None,
) -> ReservationView:
    """Capture `due` (at most the reserved amount) to the accounts of `split`, whose shares add up to
    `due`, and release the rest. A zero `due` with an empty split releases everything."""
    errors = check_rules(rules)
    pairs = list(split)
    if not isinstance(due, Money) or due.amount < 0:
        errors.append(FieldError("due", "zero or positive Money"))
    for i, p in enumerate(pairs):
        if not (isinstance(p, tuple) and len(p) == 2 and isinstance(p[0], str) and isinstance(p[1], Money)):
            errors.append(FieldError(f"split[{i}]", "an (account id, Money) pair"))
        elif not p[1].is_positive:
            errors.append(FieldError(f"split[{i}]", "a positive share"))
    if not errors and isinstance(due, Money):
        if any(m.currency != due.currency for _, m in pairs):
            errors.append(FieldError("split", f"every share is in {due.currency}"))
        elif sum(m.amount for _, m in pairs) != due.amount:
            errors.append(FieldError("split", f"the shares add up to {due}"))
    _check(idempotency_key, ("wallet_reservation", reservation_id), errors)
    row = _locked(db, platform_id, reservation_id)
    done = _ended(row, idempotency_key, "settled")
    if done is not None:
        return done
    if due.currency != row.currency:
        raise InvalidInput([FieldError("due.currency", f"the reservation is in {row.currency}")])
    if due.amount > row.amount:
        raise Conflict(
            f"cannot settle {due}: only {Money(row.amount, row.currency)} is reserved",
            extra={"reservation_id": row.id, "reserved": row.amount},
        )
    due_bonus = min(due, Money(row.bonus_amount, row.currency))
    due_paid = due - due_bonus
    from_bonus, from_paid = domain.split_between(due_bonus, due_paid, pairs)
    txs: list[str] = []
    for name, hold_id, to in (
        ("bonus", row.bonus_hold_id, from_bonus),
        ("paid", row.paid_hold_id, from_paid),
    ):
        if hold_id is None:
            continue
        if to:
            txs.append(
                ledger.capture(
                    db,
                    platform_id=platform_id,
                    hold_id=hold_id,
                    to=to,
                    idempotency_key=f"{idempotency_key}:{name}",
                    code=code,
                    rules=list(rules),
                    now=now,
                    final=True,
                    reason=reason,
                    actor=actor,
                ).id
            )
        else:
            txs.append(
                ledger.release(
                    db,
                    platform_id=platform_id,
                    hold_id=hold_id,
                    idempotency_key=f"{idempotency_key}:{name}",
                    now=now,
                    code=f"{code}.released",
                    rules=list(rules),
                    reason=reason or "nothing of this balance was due",
                    actor=actor,
                ).id
            )
    row.status = "settled"
    row.due = due.amount
    row.end_key = idempotency_key
    row.ended_at = now
    db.flush()
    return ReservationView.of(row, transaction_ids=txs)


def release(
    db: Session,
    *,
    platform_id: str,
    reservation_id: str,
    rules: Sequence[str],
    idempotency_key: str,
    now: datetime,
    code: str = "wallet.released",
    reason: str = "",
    actor: Actor | None = None,
) -> ReservationView:
    """Give the client back everything the reservation holds."""
    _check(idempotency_key, ("wallet_reservation", reservation_id), check_rules(rules))
    row = _locked(db, platform_id, reservation_id)
    done = _ended(row, idempotency_key, "released")
    if done is not None:
        return done
    txs: list[str] = []
    for name, hold_id in (("bonus", row.bonus_hold_id), ("paid", row.paid_hold_id)):
        if hold_id is not None:
            txs.append(
                ledger.release(
                    db,
                    platform_id=platform_id,
                    hold_id=hold_id,
                    idempotency_key=f"{idempotency_key}:{name}",
                    now=now,
                    code=code,
                    rules=list(rules),
                    reason=reason,
                    actor=actor,
                ).id
            )
    row.status = "released"
    row.due = 0
    row.end_key = idempotency_key
    row.ended_at = now
    db.flush()
    return ReservationView.of(row, transaction_ids=txs)
