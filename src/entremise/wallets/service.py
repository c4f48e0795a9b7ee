"""Wallet use cases: the wallet's balances and history, credit packs and their purchase, refunds,
closure, promo codes. Each runs in the caller's transaction (`with db.begin(): ...`).

A wallet is the client's `client_credit` (paid) and `client_bonus` ledger accounts, plus an account
`client_credit` labelled `refund_due` where paid credit waits for its refund to the card (after a
pack refund or a closure): it is the client's money, no longer spendable.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, cast

from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import DEFAULT_CURRENCY, Money, is_currency
from entremise.ledger import service as ledger
from entremise.ledger.domain import AccountType, Transfer
from entremise.payments import service as payments
from entremise.payments.port import CardDetails
from entremise.payments.purposes import register_purpose
from entremise.wallets import domain
from entremise.wallets.models import CreditPack, PackPurchase, PromoCode, PromoRedemption

REFUND_DUE = "refund_due"
PURPOSE = "credit_pack"
DONE_STATUSES = ("paid", "refunded")


# --- accounts and balances ---------------------------------------------------------------------


def _open(
    db: Session,
    platform_id: str,
    type_: AccountType,
    currency: str,
    now: datetime,
    owner_id: str | None = None,
    label: str | None = None,
) -> str:
    """The account, opened if missing; safe when concurrent calls open it at once (the loser of
    the race rolls back to its savepoint and reads the winner's account)."""
    found = ledger.find_account(
        db, platform_id=platform_id, type=type_, currency=currency, owner_id=owner_id, label=label
    )
    if found is not None:
        return found.id
    try:
        with db.begin_nested():
            return ledger.open_account(
                db,
                platform_id=platform_id,
                type=type_,
                now=now,
                currency=currency,
                owner_id=owner_id,
                label=label,
            ).id
    except (IntegrityError, Conflict):
        again = ledger.find_account(
            db, platform_id=platform_id, type=type_, currency=currency, owner_id=owner_id, label=label
        )
        if again is None:
            raise
        return again.id


def paid_account(db: Session, platform_id: str, client_id: str, currency: str, now: datetime) -> str:
    return _open(db, platform_id, AccountType.CLIENT_CREDIT, currency, now, client_id)


def bonus_account(db: Session, platform_id: str, client_id: str, currency: str, now: datetime) -> str:
    return _open(db, platform_id, AccountType.CLIENT_BONUS, currency, now, client_id)


def refund_due_account(db: Session, platform_id: str, client_id: str, currency: str, now: datetime) -> str:
    return _open(db, platform_id, AccountType.CLIENT_CREDIT, currency, now, client_id, REFUND_DUE)


def promotions_account(db: Session, platform_id: str, currency: str, now: datetime) -> str:
    return _open(db, platform_id, AccountType.PROMOTIONS, currency, now)


@dataclass(frozen=True)
class WalletView:
    client_id: str
    currency: str
    paid: Money  # paid credit on the account (held included)
    bonus: Money
    paid_held: Money
    bonus_held: Money
    refund_due: Money  # paid credit set aside for a refund to the card
    frozen: bool

    @property
    def held(self) -> Money:
        return self.paid_held + self.bonus_held

    @property
    def paid_available(self) -> Money:
        return self.paid - self.paid_held

    @property
    def bonus_available(self) -> Money:
        return self.bonus - self.bonus_held

    @property
    def available(self) -> Money:
        return self.paid_available + self.bonus_available


def _balance_of(
    db: Session, platform_id: str, type_: AccountType, client_id: str, currency: str, label: str | None = None
) -> tuple[ledger.BalanceView | None, bool]:
    acc = ledger.find_account(
        db, platform_id=platform_id, type=type_, currency=currency, owner_id=client_id, label=label
    )
    if acc is None:
        return None, False
    return ledger.balance(db, platform_id=platform_id, account_id=acc.id), acc.frozen


def wallet(db: Session, *, platform_id: str, client_id: str, currency: str = DEFAULT_CURRENCY) -> WalletView:
    """The client's balances (read only: opens nothing)."""
    zero = Money.zero(currency)
    paid, paid_frozen = _balance_of(db, platform_id, AccountType.CLIENT_CREDIT, client_id, currency)
    bonus, bonus_frozen = _balance_of(db, platform_id, AccountType.CLIENT_BONUS, client_id, currency)
    due, _ = _balance_of(db, platform_id, AccountType.CLIENT_CREDIT, client_id, currency, REFUND_DUE)
    return WalletView(
        client_id=client_id,
        currency=currency,
        paid=paid.total if paid else zero,
        bonus=bonus.total if bonus else zero,
        paid_held=paid.held if paid else zero,
        bonus_held=bonus.held if bonus else zero,
        refund_due=due.total if due else zero,
        frozen=paid_frozen or bonus_frozen,
    )


@dataclass(frozen=True)
class MovementView:
    id: int
    balance: str  # paid | bonus | refund_due
    bucket: str  # posted | held
    amount: Money
    code: str
    rules: tuple[str, ...]
    reason: str
    cause: tuple[str, str]
    transaction_id: str
    at: datetime


def movements(
    db: Session,
    *,
    platform_id: str,
    client_id: str,
    before_id: int | None,
    limit: int,
    currency: str = DEFAULT_CURRENCY,
) -> list[MovementView]:
    """The wallet's entries, newest first (keyset on the entry id)."""
    names: dict[str, str] = {}
    for type_, label, name in (
        (AccountType.CLIENT_CREDIT, None, "paid"),
        (AccountType.CLIENT_BONUS, None, "bonus"),
        (AccountType.CLIENT_CREDIT, REFUND_DUE, "refund_due"),
    ):
        acc = ledger.find_account(
            db, platform_id=platform_id, type=type_, currency=currency, owner_id=client_id, label=label
        )
        if acc is not None:
            names[acc.id] = name
    return [
        MovementView(
            id=e.id,
            balance=names[e.account_id],
            bucket=e.bucket,
            amount=e.amount,
            code=e.code,
            rules=e.rules,
            reason=e.reason,
            cause=e.cause,
            transaction_id=e.transaction_id,
            at=e.at,
        )
        for e in ledger.entries_page(
            db, platform_id=platform_id, account_ids=list(names), before_id=before_id, limit=limit
        )
    ]


# --- credit packs ------------------------------------------------------------------------------


@dataclass(frozen=True)
class PackView:
    id: str
    name: str
    price: Money
    bonus: Money
    position: int
    active: bool
    rules: tuple[str, ...]

    @staticmethod
    def of(row: CreditPack) -> PackView:
        return PackView(
            id=row.id,
            name=row.name,
            price=Money(row.price, row.currency),
            bonus=Money(row.bonus, row.currency),
            position=row.position,
            active=row.active,
            rules=tuple(r for r in row.rules.split(",") if r),
        )


def create_pack(
    db: Session,
    *,
    platform_id: str,
    name: str,
    price: int,
    bonus: int,
    now: datetime,
    currency: str = DEFAULT_CURRENCY,
    position: int | None = None,
    active: bool = True,
    rules: Sequence[str] = (domain.RULE_CREDIT,),
    actor: Actor | None = None,
) -> PackView:
    domain_errors = domain.check_pack(name, price, bonus, currency)
    if domain_errors:
        raise InvalidInput(domain_errors)
    if position is None:
        last = db.scalar(select(func.max(CreditPack.position)).where(CreditPack.platform_id == platform_id))
        position = (last or 0) + 1
    row = CreditPack(
        id=new_id(),
        platform_id=platform_id,
        name=name.strip(),
        price=price,
        bonus=bonus,
        currency=currency,
        position=position,
        active=active,
        rules=",".join(rules),
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="wallet.pack.created",
        obj=("credit_pack", row.id),
        at=now,
        rules=list(rules),
        data={"name": row.name, "price": price, "bonus": bonus, "currency": currency},
    )
    db.flush()
    return PackView.of(row)


def install_consult_packs(
    db: Session, *, platform_id: str, now: datetime, currency: str = "EUR"
) -> list[PackView]:
    """The preset of the consult pack (CONSULT-CREDIT-1), added once: a platform that already has
    packs keeps them."""
    existing = db.scalars(select(CreditPack).where(CreditPack.platform_id == platform_id)).all()
    if existing:
        return [PackView.of(r) for r in sorted(existing, key=lambda r: r.position)]
    return [
        create_pack(
            db,
            platform_id=platform_id,
            name=spec.name,
            price=spec.price.amount,
            bonus=spec.bonus.amount,
            currency=currency,
            position=i + 1,
            now=now,
            actor=Actor.system(),
        )
        for i, spec in enumerate(domain.consult_packs(currency))
    ]


def _pack_row(db: Session, platform_id: str, pack_id: str) -> CreditPack:
    row = db.get(CreditPack, pack_id)
    if row is None or row.platform_id != platform_id:
        raise NotFound(f"no credit pack {pack_id}")
    return row


def update_pack(
    db: Session,
    *,
    platform_id: str,
    pack_id: str,
    changes: dict[str, Any],
    now: datetime,
    actor: Actor | None = None,
) -> PackView:
    """Change a pack (name, price, bonus, position, active). Purchases keep the figures they had."""
    row = _pack_row(db, platform_id, pack_id)
    allowed = {"name", "price", "bonus", "position", "active"}
    unknown = [FieldError(f"body.{k}", "cannot be changed") for k in changes if k not in allowed]
    merged = {"name": row.name, "price": row.price, "bonus": row.bonus, **changes}
    errors = unknown + domain.check_pack(merged["name"], merged["price"], merged["bonus"], row.currency)
    if "position" in changes and (
        isinstance(changes["position"], bool) or not isinstance(changes["position"], int)
    ):
        errors.append(FieldError("body.position", "a whole number"))
    if "active" in changes and not isinstance(changes["active"], bool):
        errors.append(FieldError("body.active", "true or false"))
    if errors:
        raise InvalidInput(errors)
    for k, v in changes.items():
        setattr(row, k, v.strip() if k == "name" else v)
    row.updated_at = now
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="wallet.pack.updated",
        obj=("credit_pack", row.id),
        at=now,
        rules=[domain.RULE_CREDIT],
        data=dict(changes),
    )
    db.flush()
    return PackView.of(row)


def list_packs(db: Session, *, platform_id: str, active_only: bool) -> list[PackView]:
    q = select(CreditPack).where(CreditPack.platform_id == platform_id)
    if active_only:
        q = q.where(CreditPack.active.is_(True))
    return [PackView.of(r) for r in db.scalars(q.order_by(CreditPack.position, CreditPack.id))]


# --- purchases ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PurchaseView:
    id: str
    client_id: str
    pack_id: str
    name: str
    price: Money
    bonus: Money
    status: str
    payment_id: str | None
    refunded: Money
    bonus_withdrawn: Money
    ledger_transaction_id: str | None
    created_at: datetime

    @staticmethod
    def of(row: PackPurchase) -> PurchaseView:
        return PurchaseView(
            id=row.id,
            client_id=row.client_id,
            pack_id=row.pack_id,
            name=row.name,
            price=Money(row.price, row.currency),
            bonus=Money(row.bonus, row.currency),
            status=row.status,
            payment_id=row.payment_id,
            refunded=Money(row.refunded, row.currency),
            bonus_withdrawn=Money(row.bonus_withdrawn, row.currency),
            ledger_transaction_id=row.ledger_transaction_id,
            created_at=row.created_at,
        )


def create_purchase(
    db: Session, *, platform_id: str, client_id: str, pack_id: str, now: datetime
) -> PurchaseView:
    """A pending purchase of an active pack, at its current figures; the card pay-in for its price
    carries the purpose `("credit_pack", purchase id)`."""
    pack = _pack_row(db, platform_id, pack_id)
    if not pack.active:
        raise NotFound(f"no credit pack {pack_id}")
    row = PackPurchase(
        id=new_id(),
        platform_id=platform_id,
        client_id=client_id,
        pack_id=pack.id,
        name=pack.name,
        price=pack.price,
        bonus=pack.bonus,
        currency=pack.currency,
        status="pending",
        refunded=0,
        bonus_withdrawn=0,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    return PurchaseView.of(row)


def start_purchase(
    db: Session,
    *,
    platform_id: str,
    client_id: str,
    pack_id: str,
    card: CardDetails,
    return_url: str,
    idempotency_key: str,
    now: datetime,
) -> tuple[PurchaseView, payments.PaymentView]:
    """Buy a pack by card: a pending purchase and its card pay-in, purpose `("credit_pack", id)`.
    The wallet is credited when the provider confirms the payment (`on_pack_paid`); a retry with
    the same key returns the first purchase and payment."""
    done = db.scalar(
        select(PackPurchase).where(
            PackPurchase.platform_id == platform_id, PackPurchase.idempotency_key == idempotency_key
        )
    )
    if done is not None and done.payment_id is not None:
        if done.client_id != client_id or done.pack_id != pack_id:
            raise Conflict("this idempotency key was used for another purchase")
        return PurchaseView.of(done), payments.get_payment(
            db, platform_id=platform_id, payment_id=done.payment_id
        )
    view = create_purchase(db, platform_id=platform_id, client_id=client_id, pack_id=pack_id, now=now)
    row = _purchase_row(db, platform_id, view.id)
    row.idempotency_key = idempotency_key
    payment = payments.start_card_payin(
        db,
        platform_id=platform_id,
        payer_id=client_id,
        amount=view.price,
        card=card,
        purpose=(PURPOSE, row.id),
        return_url=return_url,
        idempotency_key=f"pack:{idempotency_key}",
        now=now,
    )
    row.payment_id = payment.id
    db.flush()
    return PurchaseView.of(row), payment


def _purchase_row(
    db: Session, platform_id: str, purchase_id: str, client_id: str | None = None
) -> PackPurchase:
    row = db.get(PackPurchase, purchase_id)
    if (
        row is None
        or row.platform_id != platform_id
        or (client_id is not None and row.client_id != client_id)
    ):
        raise NotFound(f"no purchase {purchase_id}")
    return row


def get_purchase(
    db: Session, *, platform_id: str, purchase_id: str, client_id: str | None = None
) -> PurchaseView:
    return PurchaseView.of(_purchase_row(db, platform_id, purchase_id, client_id))


def list_purchases(
    db: Session, *, platform_id: str, client_id: str | None, after_id: str | None, limit: int
) -> list[PurchaseView]:
    q = select(PackPurchase).where(PackPurchase.platform_id == platform_id)
    if client_id is not None:
        q = q.where(PackPurchase.client_id == client_id)
    if after_id is not None:
        q = q.where(PackPurchase.id > after_id)
    return [PurchaseView.of(r) for r in db.scalars(q.order_by(PackPurchase.id).limit(limit))]


class PaymentOutcomeLike(Protocol):
    """The fields of the payments module's `PaymentOutcome` that wallets read."""

    @property
    def payment_id(self) -> str: ...
    @property
    def platform_id(self) -> str: ...
    @property
    def payer_id(self) -> str: ...
    @property
    def purpose(self) -> tuple[str, str]: ...
    @property
    def amount(self) -> Money: ...
    @property
    def clearing_account_id(self) -> str: ...


def _locked_purchase(db: Session, platform_id: str, purchase_id: str) -> PackPurchase:
    row = db.scalar(
        select(PackPurchase)
        .where(PackPurchase.id == purchase_id, PackPurchase.platform_id == platform_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound(f"no purchase {purchase_id}")
    return row


def on_pack_paid(db: Session, outcome: PaymentOutcomeLike, now: datetime) -> None:
    """The card pay-in for a pack succeeded: one ledger transaction credits the price to paid credit
    (from the payment clearing account) and the bonus to the bonus balance (from the promotions
    account), citing CONSULT-CREDIT-1. Idempotent (a webhook may come twice)."""
    kind, purchase_id = outcome.purpose
    if kind != PURPOSE:
        raise InvalidInput([FieldError("purpose", f"not a {PURPOSE} payment")])
    row = _locked_purchase(db, outcome.platform_id, purchase_id)
    if row.status in DONE_STATUSES:
        return
    price = Money(row.price, row.currency)
    if (
        outcome.amount != price
        or outcome.payer_id != row.client_id
        or (row.payment_id is not None and row.payment_id != outcome.payment_id)
    ):
        raise Conflict(
            f"payment {outcome.payment_id} does not match purchase {row.id} ({price} by {row.client_id})",
            rules=[domain.RULE_CREDIT],
        )
    transfers = [
        Transfer(
            outcome.clearing_account_id,
            paid_account(db, row.platform_id, row.client_id, row.currency, now),
            price,
        )
    ]
    if row.bonus:
        transfers.append(
            Transfer(
                promotions_account(db, row.platform_id, row.currency, now),
                bonus_account(db, row.platform_id, row.client_id, row.currency, now),
                Money(row.bonus, row.currency),
            )
        )
    tx = ledger.post_transaction(
        db,
        platform_id=row.platform_id,
        transfers=transfers,
        idempotency_key=f"pack:{row.id}:credit",
        code="wallet.pack.credited",
        rules=[domain.RULE_CREDIT],
        cause=(PURPOSE, row.id),
        now=now,
        reason=f"credit pack {row.name}: {price} paid credit, {Money(row.bonus, row.currency)} bonus",
    )
    row.status = "paid"
    row.ledger_transaction_id = tx.id
    row.updated_at = now


def on_pack_failed(db: Session, outcome: PaymentOutcomeLike, now: datetime) -> None:
    """The pay-in failed: the purchase fails, nothing is credited."""
    _kind, purchase_id = outcome.purpose
    row = _locked_purchase(db, outcome.platform_id, purchase_id)
    if row.status == "pending":
        row.status = "failed"
        row.updated_at = now


def refund_purchase(
    db: Session, *, platform_id: str, purchase_id: str, now: datetime, actor: Actor | None = None
) -> tuple[PurchaseView, domain.PackRefund]:
    """Refund what is left of a paid pack (CONSULT-CREDIT-1): the unspent paid part is set aside for
    the card refund, the pack's bonus is withdrawn in proportion, and what of that bonus was already
    spent is kept from the refund. One ledger transaction."""
    row = _locked_purchase(db, platform_id, purchase_id)
    if row.status not in DONE_STATUSES:
        raise Conflict(f"purchase {row.id} is {row.status}: only a paid pack is refundable")
    paid = paid_account(db, platform_id, row.client_id, row.currency, now)
    bonus = bonus_account(db, platform_id, row.client_id, row.currency, now)
    paid_b = ledger.balance(db, platform_id=platform_id, account_id=paid)
    bonus_b = ledger.balance(db, platform_id=platform_id, account_id=bonus)
    decision = domain.pack_refund(
        price=Money(row.price, row.currency),
        bonus=Money(row.bonus, row.currency),
        already_refunded=Money(row.refunded, row.currency),
        paid_available=paid_b.available,
        bonus_available=bonus_b.available,
    )
    q = decision.outcome
    if not q.paid_debited.is_positive and not q.bonus_withdrawn.is_positive:
        raise Conflict(decision.reason, rules=decision.rules)
    promotions = promotions_account(db, platform_id, row.currency, now)
    transfers: list[Transfer] = []
    if q.cash.is_positive:
        transfers.append(
            Transfer(paid, refund_due_account(db, platform_id, row.client_id, row.currency, now), q.cash)
        )
    if q.paid_kept.is_positive:
        transfers.append(Transfer(paid, promotions, q.paid_kept))
    if q.bonus_withdrawn.is_positive:
        transfers.append(Transfer(bonus, promotions, q.bonus_withdrawn))
    ledger.post_transaction(
        db,
        platform_id=platform_id,
        transfers=transfers,
        idempotency_key=f"pack:{row.id}:refund:{row.refunded}",
        code="wallet.pack.refund",
        rules=list(decision.rules),
        cause=(PURPOSE, row.id),
        now=now,
        reason=decision.reason,
        actor=actor,
    )
    if q.cash.is_positive and row.payment_id is not None:
        # the provider refunds the card; payments holds the money on `refund_due` meanwhile and
        # moves it to the clearing account when the provider confirms (or releases it on failure)
        payments.refund(
            db,
            platform_id=platform_id,
            payment_id=row.payment_id,
            amount=q.cash,
            reason=f"refund of credit pack {row.name}",
            rules=list(decision.rules),
            idempotency_key=f"pack:{row.id}:refund:{row.refunded}",
            now=now,
            actor=actor or Actor.system(),
            source_account_id=refund_due_account(db, platform_id, row.client_id, row.currency, now),
        )
    row.refunded += q.paid_debited.amount
    row.bonus_withdrawn += q.bonus_withdrawn.amount
    row.status = "refunded"
    row.updated_at = now
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="wallet.pack.refund",
        obj=(PURPOSE, row.id),
        at=now,
        rules=decision.rules,
        reason=decision.reason,
        data={"cash": q.cash.amount, "kept": q.paid_kept.amount, "bonus_withdrawn": q.bonus_withdrawn.amount},
    )
    db.flush()
    return PurchaseView.of(row), q


# --- closure -----------------------------------------------------------------------------------


def close_wallet(
    db: Session,
    *,
    platform_id: str,
    client_id: str,
    now: datetime,
    currency: str = DEFAULT_CURRENCY,
    actor: Actor | None = None,
) -> domain.Closure:
    """Close a wallet (the account closes): paid credit is set aside for its refund and refunded to
    the cards that paid its packs, the bonus is forfeited to the promotions account and never paid
    out (CONSULT-CREDIT-1). Money still held by
    an open reservation stays until that reservation ends; a second call moves what is left."""
    paid = paid_account(db, platform_id, client_id, currency, now)
    bonus = bonus_account(db, platform_id, client_id, currency, now)
    decision = domain.closure(
        paid_available=ledger.balance(db, platform_id=platform_id, account_id=paid).available,
        bonus_available=ledger.balance(db, platform_id=platform_id, account_id=bonus).available,
    )
    c = decision.outcome
    transfers: list[Transfer] = []
    if c.refundable.is_positive:
        transfers.append(
            Transfer(paid, refund_due_account(db, platform_id, client_id, currency, now), c.refundable)
        )
    if c.forfeited.is_positive:
        transfers.append(Transfer(bonus, promotions_account(db, platform_id, currency, now), c.forfeited))
    if transfers:
        ledger.post_transaction(
            db,
            platform_id=platform_id,
            transfers=transfers,
            idempotency_key=f"wallet:{client_id}:{currency}:close:{new_id()}",
            code="wallet.closed",
            rules=list(decision.rules),
            cause=("wallet", client_id),
            now=now,
            reason=decision.reason,
            actor=actor,
        )
    refunded = _refund_purchases_to_card(db, platform_id, client_id, c.refundable, now, actor)
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="wallet.closed",
        obj=("wallet", client_id),
        at=now,
        rules=decision.rules,
        reason=decision.reason,
        data={
            "refundable": c.refundable.amount,
            "forfeited": c.forfeited.amount,
            "refunded_to_card": refunded.amount,
            "currency": currency,
        },
    )
    return c


def _refund_purchases_to_card(
    db: Session, platform_id: str, client_id: str, amount: Money, now: datetime, actor: Actor | None
) -> Money:
    """Ask the provider to refund up to `amount` (already on `refund_due`) to the cards that paid
    the client's packs, newest purchase first; what no pack payment covers (credit that came
    another way) stays on `refund_due` for staff to pay back. The total asked."""
    left = amount
    rows = db.scalars(
        select(PackPurchase)
        .where(
            PackPurchase.platform_id == platform_id,
            PackPurchase.client_id == client_id,
            PackPurchase.currency == amount.currency,
            PackPurchase.status.in_(DONE_STATUSES),
            PackPurchase.payment_id.is_not(None),
        )
        .order_by(PackPurchase.created_at.desc(), PackPurchase.id.desc())
        .with_for_update()
    ).all()
    source = refund_due_account(db, platform_id, client_id, amount.currency, now)
    for row in rows:
        if not left.is_positive:
            break
        assert row.payment_id is not None
        payment = payments.get_payment(db, platform_id=platform_id, payment_id=row.payment_id)
        part = min(left, Money(row.price - row.refunded, row.currency), payment.refundable)
        if not part.is_positive:
            continue
        payments.refund(
            db,
            platform_id=platform_id,
            payment_id=row.payment_id,
            amount=part,
            reason=f"wallet closed: paid credit of pack {row.name} refunded",
            rules=[domain.RULE_CREDIT],
            idempotency_key=f"pack:{row.id}:close:{row.refunded}",
            now=now,
            actor=actor or Actor.system(),
            source_account_id=source,
        )
        row.refunded += part.amount
        row.status = "refunded"
        row.updated_at = now
        left = left - part
    return amount - left


# --- promo codes -------------------------------------------------------------------------------


@dataclass(frozen=True)
class PromoView:
    id: str
    code: str
    value: Money
    starts_at: datetime
    ends_at: datetime
    max_uses: int | None
    uses: int
    condition: str
    min_purchase: Money
    conditions: str  # what the client is shown
    active: bool

    @staticmethod
    def of(row: PromoCode) -> PromoView:
        return PromoView(
            id=row.id,
            code=row.code,
            value=Money(row.value, row.currency),
            starts_at=row.starts_at,
            ends_at=row.ends_at,
            max_uses=row.max_uses,
            uses=row.uses,
            condition=row.condition,
            min_purchase=Money(row.min_purchase, row.currency),
            conditions=row.conditions_text,
            active=row.active,
        )


def _norm_code(code: str) -> str:
    return code.strip().upper()


def create_promo(
    db: Session,
    *,
    platform_id: str,
    code: str,
    value: int,
    starts_at: datetime,
    ends_at: datetime,
    now: datetime,
    currency: str = DEFAULT_CURRENCY,
    max_uses: int | None = None,
    condition: str = "none",
    min_purchase: int = 0,
    conditions_text: str | None = None,
    actor: Actor | None = None,
) -> PromoView:
    """A time-limited promo code adding `value` to the bonus balance, once per account, with a
    stated condition (CARPOOL-PROMO-1, CONSULT-PROMO-1)."""
    errors: list[FieldError] = []
    norm = _norm_code(code) if isinstance(code, str) else ""
    if not norm or len(norm) > 40 or not all(ch.isalnum() or ch in "-_" for ch in norm):
        errors.append(FieldError("body.code", "1 to 40 letters, digits, '-' or '_'"))
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= domain.MAX_PACK_AMOUNT:
        errors.append(FieldError("body.value", f"a whole number of cents, 1 to {domain.MAX_PACK_AMOUNT}"))
    if not is_currency(currency):
        errors.append(FieldError("body.currency", f"unsupported currency {currency!r}"))
    for name, at in (("starts_at", starts_at), ("ends_at", ends_at)):
        if not isinstance(at, datetime) or at.tzinfo is None:
            errors.append(FieldError(f"body.{name}", "a date and time with its UTC offset"))
    if errors:
        raise InvalidInput(errors)
    if ends_at <= starts_at:
        errors.append(FieldError("body.ends_at", "must be after starts_at (a promotion is time-limited)"))
    if max_uses is not None and (isinstance(max_uses, bool) or not isinstance(max_uses, int) or max_uses < 1):
        errors.append(FieldError("body.max_uses", "a whole number of at least 1"))
    if condition not in domain.CONDITIONS:
        errors.append(FieldError("body.condition", f"one of {', '.join(domain.CONDITIONS)}"))
    if condition == "min_purchase" and (not isinstance(min_purchase, int) or min_purchase <= 0):
        errors.append(FieldError("body.min_purchase", "a positive number of cents for this condition"))
    if errors:
        raise InvalidInput(errors)
    if db.scalar(select(PromoCode.id).where(PromoCode.platform_id == platform_id, PromoCode.code == norm)):
        raise Conflict(f"promo code {norm} exists")
    stated = domain.describe_condition(condition, Money(min_purchase, currency))
    text = f"{conditions_text.strip()} ({stated})" if conditions_text and conditions_text.strip() else stated
    row = PromoCode(
        id=new_id(),
        platform_id=platform_id,
        code=norm,
        value=value,
        currency=currency,
        starts_at=starts_at,
        ends_at=ends_at,
        max_uses=max_uses,
        uses=0,
        condition=condition,
        min_purchase=min_purchase if condition == "min_purchase" else 0,
        conditions_text=text[:2000],
        active=True,
        created_at=now,
    )
    db.add(row)
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="wallet.promo.created",
        obj=("promo_code", row.id),
        at=now,
        rules=list(domain.RULES_PROMO),
        data={"code": norm, "value": value, "max_uses": max_uses, "condition": condition},
    )
    db.flush()
    return PromoView.of(row)


def list_promos(db: Session, *, platform_id: str) -> list[PromoView]:
    return [
        PromoView.of(r)
        for r in db.scalars(
            select(PromoCode).where(PromoCode.platform_id == platform_id).order_by(PromoCode.code)
        )
    ]


def set_promo_active(
    db: Session, *, platform_id: str, promo_id: str, active: bool, now: datetime, actor: Actor | None = None
) -> PromoView:
    row = db.get(PromoCode, promo_id)
    if row is None or row.platform_id != platform_id:
        raise NotFound(f"no promo code {promo_id}")
    row.active = active
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="wallet.promo.activated" if active else "wallet.promo.withdrawn",
        obj=("promo_code", row.id),
        at=now,
        rules=list(domain.RULES_PROMO),
    )
    db.flush()
    return PromoView.of(row)


@dataclass(frozen=True)
class RedemptionView:
    id: str
    promo_id: str
    code: str
    value: Money
    conditions: str
    ledger_transaction_id: str
    created_at: datetime


def _purchase_facts(db: Session, platform_id: str, client_id: str) -> tuple[int, int]:
    count, largest = db.execute(
        select(func.count(PackPurchase.id), func.coalesce(func.max(PackPurchase.price), 0)).where(
            PackPurchase.platform_id == platform_id,
            PackPurchase.client_id == client_id,
            PackPurchase.status.in_(DONE_STATUSES),
        )
    ).one()
    return int(count), int(largest)


def redeem(
    db: Session, *, platform_id: str, client_id: str, code: str, now: datetime, actor: Actor | None = None
) -> RedemptionView:
    """Add a promo code's value to the client's bonus balance, from the promotions account.

    Refused (409, with the rules) outside its dates, once its global cap is reached, when its stated
    condition does not hold, or when this account already redeemed it. Safe under concurrency: the
    unique (code, account) row admits one redemption per account, and the use counter only grows by
    a conditional update that never passes the cap."""
    norm = _norm_code(code) if isinstance(code, str) else ""
    if not norm or len(norm) > 40:
        raise InvalidInput([FieldError("body.code", "1 to 40 characters")])
    promo = db.scalar(select(PromoCode).where(PromoCode.platform_id == platform_id, PromoCode.code == norm))
    if promo is None:
        raise NotFound(f"no promo code {norm}")
    count, largest = _purchase_facts(db, platform_id, client_id)
    verdict = domain.may_redeem(
        domain.PromoFacts(
            active=promo.active,
            starts_at=promo.starts_at,
            ends_at=promo.ends_at,
            max_uses=promo.max_uses,
            uses=promo.uses,
            condition=promo.condition,
            min_purchase=promo.min_purchase,
            confirmed_purchases=count,
            largest_purchase=largest,
        ),
        now,
    )
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules, extra={"conditions": promo.conditions_text})
    already = db.scalar(
        select(PromoRedemption.id).where(
            PromoRedemption.promo_id == promo.id, PromoRedemption.client_id == client_id
        )
    )
    if already is not None:
        raise Conflict(
            "this account already redeemed this promo code",
            rules=domain.RULES_PROMO,
            extra={"redemption_id": already},
        )
    value = Money(promo.value, promo.currency)
    tx = ledger.post_transaction(
        db,
        platform_id=platform_id,
        transfers=[
            Transfer(
                promotions_account(db, platform_id, promo.currency, now),
                bonus_account(db, platform_id, client_id, promo.currency, now),
                value,
            )
        ],
        idempotency_key=f"promo:{promo.id}:{client_id}",
        code="wallet.promo.redeemed",
        rules=list(domain.RULES_PROMO),
        cause=("promo_code", promo.id),
        now=now,
        reason=f"promo code {promo.code}: {value} added to the bonus balance ({promo.conditions_text})",
        actor=actor,
    )
    if tx.replayed:  # a concurrent redemption by the same account committed first
        raise Conflict("this account already redeemed this promo code", rules=domain.RULES_PROMO)
    row = PromoRedemption(
        id=new_id(),
        platform_id=platform_id,
        promo_id=promo.id,
        client_id=client_id,
        value=promo.value,
        currency=promo.currency,
        ledger_transaction_id=tx.id,
        created_at=now,
    )
    try:
        with db.begin_nested():
            db.add(row)
            db.flush()
    except IntegrityError:
        raise Conflict("this account already redeemed this promo code", rules=domain.RULES_PROMO) from None
    counted = cast(
        CursorResult[Any],
        db.execute(
            update(PromoCode)
            .where(
                PromoCode.id == promo.id,
                (PromoCode.max_uses.is_(None)) | (PromoCode.uses < PromoCode.max_uses),
            )
            .values(uses=PromoCode.uses + 1)
            .execution_options(synchronize_session=False),
        ),
    ).rowcount
    if counted != 1:
        raise Conflict("this promotion has been used as many times as it allows", rules=domain.RULES_PROMO)
    return RedemptionView(
        id=row.id,
        promo_id=promo.id,
        code=promo.code,
        value=value,
        conditions=promo.conditions_text,
        ledger_transaction_id=tx.id,
        created_at=now,
    )


def list_redemptions(db: Session, *, platform_id: str, client_id: str) -> list[RedemptionView]:
    rows = db.execute(
        select(PromoRedemption, PromoCode)
        .join(PromoCode, PromoCode.id == PromoRedemption.promo_id)
        .where(PromoRedemption.platform_id == platform_id, PromoRedemption.client_id == client_id)
        .order_by(PromoRedemption.created_at, PromoRedemption.id)
    ).all()
    return [
        RedemptionView(
            id=r.id,
            promo_id=p.id,
            code=p.code,
            value=Money(r.value, r.currency),
            conditions=p.conditions_text,
            ledger_transaction_id=r.ledger_transaction_id,
            created_at=r.created_at,
        )
        for r, p in rows
    ]


# --- privacy -----------------------------------------------------------------------------------


def export_data(db: Session, *, platform_id: str, client_id: str) -> dict[str, Any]:
    """Purchases and promo redemptions of a client (COMMON-PRIVACY-1); the ledger's own exporter
    gives the entries on the wallet's accounts."""
    w = wallet(db, platform_id=platform_id, client_id=client_id)
    purchases = db.scalars(
        select(PackPurchase)
        .where(PackPurchase.platform_id == platform_id, PackPurchase.client_id == client_id)
        .order_by(PackPurchase.created_at, PackPurchase.id)
    ).all()
    return {
        "balances": {
            "currency": w.currency,
            "paid": w.paid.amount,
            "bonus": w.bonus.amount,
            "held": w.held.amount,
            "refund_due": w.refund_due.amount,
        },
        "purchases": [
            {
                "id": p.id,
                "pack": p.name,
                "price": p.price,
                "bonus": p.bonus,
                "currency": p.currency,
                "status": p.status,
                "refunded": p.refunded,
                "created_at": p.created_at.isoformat(),
            }
            for p in purchases
        ],
        "promo_redemptions": [
            {
                "code": r.code,
                "value": r.value.amount,
                "currency": r.value.currency,
                "at": r.created_at.isoformat(),
            }
            for r in list_redemptions(db, platform_id=platform_id, client_id=client_id)
        ],
    }


# A pack's pay-in credits the wallet when confirmed. Its refunds go through `refund_purchase`
# (which withdraws the bonus and sets the cash aside as the refund's source), so no `on_refunded`:
# payments refuses a refund of a pack asked elsewhere. A chargeback without a handler is taken from
# the platform's chargeback-loss account (payments' default).
register_purpose(PURPOSE, on_succeeded=on_pack_paid, on_failed=on_pack_failed)
