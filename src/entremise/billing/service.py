"""Billing use cases. Each function runs inside the caller's transaction (`with db.begin():`).

Other modules call `record_item` to note what a customer owes and `invoice_items` /
`invoice_open_items` to issue an invoice; staff issue credit notes with `issue_credit_note`.
Issuing allocates the number from the gap-free counter of its series and year in the same
transaction (LAW-INVOICE-1): a rolled-back issue gives its number back. The PDF is made afterwards
by `billing.documents.ensure_documents`, outside any lock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, cast
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import service as accounts
from entremise.audit.service import Actor, record
from entremise.billing import domain
from entremise.billing.models import BillableItem, BillingProfile, BillingSeller, Invoice, InvoiceLine
from entremise.billing.settings import BillingSettings, SellerIdentity
from entremise.billing.views import (
    PARTY_FIELDS,
    InvoiceView,
    ItemView,
    ProfileView,
    SellerView,
    invoice_view,
    item_view,
    profile_view,
    seller_view,
)
from entremise.counters import service as counters
from entremise.kernel.errors import Conflict, FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.platforms.service import PlatformView

PRICE_MODES = ("net", "gross")
PROFILE_KINDS = ("consumer", "business")
MAX_LINES = 500


def local_today(platform: PlatformView, now: datetime) -> date:
    return now.astimezone(ZoneInfo(platform.settings.timezone)).date()


def _nul(value: str | None) -> bool:
    return value is not None and "\x00" in value


def _customer(db: Session, platform: PlatformView, user_id: str, field: str) -> accounts.UserView:
    try:
        return accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    except NotFound:
        raise InvalidInput([FieldError(field, "no such customer on this platform")]) from None


# --- customers' billing profiles ------------------------------------------------------------------


def set_profile(
    db: Session, *, platform: PlatformView, user_id: str, data: dict[str, Any], now: datetime, actor: Actor
) -> ProfileView:
    """Create or replace how `user_id` is named on invoices. Future invoices use it; issued ones keep
    the identity they were issued with. NotFound for a user of no such id on this platform."""
    accounts.get_user(db, platform_id=platform.id, user_id=user_id)
    clean = {k: (v.strip() if isinstance(v, str) else v) for k, v in data.items()}
    for key in ("siren", "vat_number"):
        clean[key] = domain.compact_id(clean.get(key))
    clean["country"] = (clean.get("country") or "FR").upper()
    errors = [FieldError(f"body.{k}", "must not contain NUL characters") for k, v in clean.items() if _nul(v)]
    if clean.get("kind") not in PROFILE_KINDS:
        errors.append(FieldError("body.kind", "consumer or business"))
    errors += [FieldError(f"body.{f}", why) for f, why in domain.buyer_problems(clean)]
    if errors:
        raise InvalidInput(errors)
    row = db.get(BillingProfile, (platform.id, user_id))
    if row is None:
        row = BillingProfile(platform_id=platform.id, user_id=user_id)
        db.add(row)
    for name in (*PARTY_FIELDS, "kind", "siren", "vat_number", "email"):
        setattr(row, name, clean.get(name) or None)
    row.updated_at = now
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # the same profile created at the same moment by another request
        raise Conflict("the billing profile was just changed by another request; try again") from exc
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="billing.profile_set",
        obj=("user", user_id),
        at=now,
        data={"kind": row.kind},
    )
    return profile_view(row)


def get_profile(db: Session, *, platform_id: str, user_id: str) -> ProfileView | None:
    row = db.get(BillingProfile, (platform_id, user_id))
    return profile_view(row) if row is not None else None


def buyer_of(db: Session, platform: PlatformView, customer_id: str) -> dict[str, Any]:
    """The buyer block of an invoice: the customer's billing profile, else what their account says
    (name, `address` as the first line), as a consumer. Refused when name or address is missing."""
    user = _customer(db, platform, customer_id, "body.customer_id")
    profile = db.get(BillingProfile, (platform.id, customer_id))
    if profile is not None:
        buyer: dict[str, Any] = {name: getattr(profile, name) for name in PARTY_FIELDS}
        buyer.update(kind=profile.kind, siren=profile.siren, vat_number=profile.vat_number)
        email = profile.email or user.email
    else:
        name = user.profile.get("company_name") or " ".join(p for p in (user.first_name, user.last_name) if p)
        buyer = {
            "kind": "consumer",
            "name": name or None,
            "address_line1": user.profile.get("address"),
            "address_line2": None,
            "postcode": user.profile.get("postcode"),
            "city": user.profile.get("city"),
            "country": (user.profile.get("country") or "FR")[:2].upper(),
            "siren": None,
            "vat_number": None,
        }
        email = user.email
    problems = domain.buyer_problems(buyer)
    if problems:
        raise InvalidInput(
            [FieldError(f"customer.{f}", why) for f, why in problems],
            detail="the customer's billing profile is incomplete: "
            + ", ".join(f"{f} ({why})" for f, why in problems),
            rules=["LAW-INVOICE-1"],
        )
    buyer.update(email=email, locale=user.locale)
    return buyer


# --- sellers: the platform, or a provider under a billing mandate ----------------------------------


def set_seller(
    db: Session,
    *,
    platform: PlatformView,
    provider_id: str,
    code: str,
    identity: dict[str, Any],
    mandate_reference: str,
    mandate_signed_on: date,
    now: datetime,
    actor: Actor,
) -> SellerView:
    """Record (or update) a billing mandate: the platform invoices on behalf of `provider_id`, with
    the provider's identity on the invoices and its own series `FA-<code>` / `AV-<code>`."""
    errors: list[FieldError] = []
    try:
        user = accounts.get_user(db, platform_id=platform.id, user_id=provider_id)
        if user.role != "provider":
            errors.append(FieldError("path.provider_id", "not a provider"))
    except NotFound:
        raise NotFound("no such provider") from None
    if not domain.SERIES_CODE.match(code or ""):
        errors.append(FieldError("body.code", "1 to 10 capital letters or digits"))
    try:
        parsed = SellerIdentity.model_validate(identity)
    except ValidationError as exc:
        errors += [
            FieldError("body.identity." + ".".join(str(p) for p in e["loc"]), e["msg"]) for e in exc.errors()
        ]
        parsed = None
    if parsed is not None:
        clean = _seller_dict(parsed)
        errors += [FieldError(f"body.identity.{f}", why) for f, why in domain.seller_problems(clean)]
    if not mandate_reference.strip() or _nul(mandate_reference):
        errors.append(FieldError("body.mandate_reference", "the reference of the signed billing mandate"))
    if errors:
        raise InvalidInput(errors, rules=["LAW-INVOICE-1"])
    taken = db.scalar(
        select(BillingSeller.provider_id).where(
            BillingSeller.platform_id == platform.id,
            BillingSeller.code == code,
            BillingSeller.provider_id != provider_id,
        )
    )
    if taken:
        raise Conflict(f"the series code {code} belongs to another seller")
    row = db.get(BillingSeller, (platform.id, provider_id))
    if row is None:
        row = BillingSeller(platform_id=platform.id, provider_id=provider_id, created_at=now, code=code)
        db.add(row)
    elif row.code != code and _has_invoices(db, platform.id, provider_id):
        raise Conflict("the series code of a seller who was already invoiced for cannot change")
    row.code = code
    row.identity = clean
    row.mandate_reference = mandate_reference.strip()
    row.mandate_signed_on = mandate_signed_on
    row.updated_at = now
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:
        raise Conflict(f"the series code {code} belongs to another seller") from exc
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="billing.mandate_set",
        obj=("user", provider_id),
        at=now,
        rules=["LAW-INVOICE-1"],
        data={"code": code, "mandate_reference": row.mandate_reference},
    )
    return seller_view(row)


def get_seller(db: Session, *, platform_id: str, provider_id: str) -> SellerView | None:
    row = db.get(BillingSeller, (platform_id, provider_id))
    return seller_view(row) if row is not None else None


def _has_invoices(db: Session, platform_id: str, seller_id: str) -> bool:
    return bool(
        db.scalar(
            select(Invoice.id)
            .where(Invoice.platform_id == platform_id, Invoice.seller_id == seller_id)
            .limit(1)
        )
    )


def _seller_dict(identity: SellerIdentity) -> dict[str, Any]:
    data = identity.model_dump(mode="json")
    for key in ("siren", "siret", "vat_number"):
        data[key] = domain.compact_id(data.get(key))
    return data


@dataclass(frozen=True)
class _Seller:
    seller_id: str | None
    code: str | None
    identity: dict[str, Any]
    mandate: dict[str, Any] | None


def _seller(db: Session, platform: PlatformView, seller_id: str | None) -> _Seller:
    """The seller's identity, refused while a legal mention is missing (LAW-INVOICE-1)."""
    if seller_id is None:
        identity = _seller_dict(platform.settings.billing.seller)
        problems = domain.seller_problems(identity)
        if problems:
            raise InvalidInput(
                [FieldError(f"settings.billing.seller.{f}", why) for f, why in problems],
                detail="the platform's seller identity is incomplete, so no invoice can be issued: "
                + ", ".join(f"settings.billing.seller.{f} ({why})" for f, why in problems),
                rules=["LAW-INVOICE-1"],
            )
        return _Seller(None, None, identity, None)
    row = db.get(BillingSeller, (platform.id, seller_id))
    if row is None:
        raise InvalidInput([FieldError("body.seller_id", "no billing mandate for this provider")])
    mandate = {
        "reference": row.mandate_reference,
        "signed_on": row.mandate_signed_on.isoformat(),
        "issuer": platform.settings.billing.seller.name or platform.name,
    }
    return _Seller(seller_id, row.code, dict(row.identity), mandate)


# --- billable items (KIDRIDE-INVOICE-1) -----------------------------------------------------------


def _request_of(row: BillableItem) -> tuple[Any, ...]:
    return (
        row.customer_id,
        row.seller_id,
        row.description,
        Decimal(row.quantity),
        row.price_mode,
        Decimal(row.given_price),
        Decimal(row.vat_rate),
        row.supply_date,
        row.cause_type,
        row.cause_id,
    )


def record_item(
    db: Session,
    *,
    platform: PlatformView,
    key: str,
    customer_id: str,
    description: str,
    quantity: str | Decimal | int,
    unit_price: str | Decimal,
    vat_rate: str | Decimal,
    supply_date: date,
    cause: tuple[str, str],
    now: datetime,
    price_mode: str = "net",
    seller_id: str | None = None,
    actor: Actor | None = None,
) -> ItemView:
    """Note something `customer_id` owes, to be invoiced later (by the monthly run or by staff).

    The price is per unit, net of VAT (`price_mode="net"`) or VAT included (`"gross"`), in major
    units as text with at most 2 decimals (`"12.50"`); the quantity has at most 2 decimals. `key`
    makes the call idempotent: the same key with the same item returns it, with another is refused.
    `seller_id` names a provider under a billing mandate (default: the platform sells)."""
    settings = platform.settings.billing
    errors: list[FieldError] = []
    if not key or len(key) > 200 or _nul(key):
        errors.append(FieldError("body.key", "1 to 200 characters"))
    if not description or not description.strip() or len(description) > 500 or _nul(description):
        errors.append(FieldError("body.description", "1 to 500 characters"))
    if not cause[0] or len(cause[0]) > 40 or not cause[1] or len(cause[1]) > 64 or _nul(cause[0] + cause[1]):
        errors.append(FieldError("body.cause", "an object type (1-40) and id (1-64)"))
    if price_mode not in PRICE_MODES:
        errors.append(FieldError("body.price_mode", "net or gross"))
    parsed: dict[str, Decimal] = {}
    for name, raw, places, positive in (
        ("quantity", quantity, 2, True),
        ("unit_price", unit_price, 2, False),
    ):
        try:
            parsed[name] = domain.parse_decimal(raw, places=places, positive=positive)
        except ValueError as exc:
            errors.append(FieldError(f"body.{name}", str(exc)))
    try:
        parsed["vat_rate"] = domain.allowed_rate(vat_rate, settings.vat_rates)
    except ValueError as exc:
        errors.append(FieldError("body.vat_rate", str(exc)))
    try:
        _customer(db, platform, customer_id, "body.customer_id")
    except InvalidInput as exc:
        errors += exc.errors
    if seller_id is not None:
        mandate = db.get(BillingSeller, (platform.id, seller_id))
        if mandate is None:
            errors.append(FieldError("body.seller_id", "no billing mandate for this provider"))
        elif mandate.identity.get("vat_franchise") and parsed.get("vat_rate", Decimal(0)) != 0:
            errors.append(FieldError("body.vat_rate", "the seller is under the VAT franchise: 0 only"))
    elif settings.seller.vat_franchise and parsed.get("vat_rate", Decimal(0)) != 0:
        errors.append(FieldError("body.vat_rate", "the seller is under the VAT franchise: 0 only"))
    if errors:
        raise InvalidInput(
            errors, rules=["LAW-VAT-1"] if any(e.field == "body.vat_rate" for e in errors) else ()
        )
    line = domain.priced_line(
        parsed["quantity"],
        parsed["unit_price"],
        parsed["vat_rate"],
        gross=price_mode == "gross",
        currency=settings.currency,
    )
    row = BillableItem(
        id=new_id(),
        platform_id=platform.id,
        key=key,
        customer_id=customer_id,
        seller_id=seller_id,
        description=description.strip(),
        quantity=str(parsed["quantity"]),
        price_mode=price_mode,
        given_price=str(parsed["unit_price"]),
        unit_price=str(line.unit_price),
        vat_rate=str(parsed["vat_rate"]),
        currency=settings.currency,
        supply_date=supply_date,
        cause_type=cause[0],
        cause_id=cause[1],
        created_at=now,
    )
    existing = db.scalar(
        select(BillableItem).where(BillableItem.platform_id == platform.id, BillableItem.key == key)
    )
    if existing is None:
        db.add(row)
        try:
            with db.begin_nested():
                db.flush()
        except IntegrityError:  # a concurrent call with the same key won
            existing = db.scalar(
                select(BillableItem).where(BillableItem.platform_id == platform.id, BillableItem.key == key)
            )
            if existing is None:
                raise
        else:
            record(
                db,
                platform_id=platform.id,
                actor=actor,
                action="billing.item_recorded",
                obj=("billing_item", row.id),
                at=now,
                rules=["KIDRIDE-INVOICE-1"],
                data={"customer_id": customer_id, "cause": list(cause), "key": key},
            )
            return item_view(row)
    if _request_of(existing) != _request_of(row):
        raise Conflict(f"the item key {key!r} was used for another item", extra={"item_id": existing.id})
    return item_view(existing)


def cancel_item(
    db: Session, *, platform_id: str, item_id: str, now: datetime, actor: Actor | None = None
) -> ItemView:
    """Withdraw an item not invoiced yet (an invoiced one is corrected by a credit note)."""
    row = db.scalar(
        select(BillableItem)
        .where(BillableItem.platform_id == platform_id, BillableItem.id == item_id)
        .with_for_update()
    )
    if row is None:
        raise NotFound("no such billable item")
    if row.cancelled_at is not None:
        return item_view(row)
    if row.invoice_id is not None:
        raise Conflict("the item is invoiced already: issue a credit note", rules=["LAW-INVOICE-1"])
    row.cancelled_at = now
    db.flush()
    record(
        db,
        platform_id=platform_id,
        actor=actor,
        action="billing.item_cancelled",
        obj=("billing_item", row.id),
        at=now,
    )
    return item_view(row)


def list_items(
    db: Session,
    *,
    platform_id: str,
    customer_id: str | None = None,
    status: str | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> list[ItemView]:
    q = select(BillableItem).where(BillableItem.platform_id == platform_id)
    if customer_id:
        q = q.where(BillableItem.customer_id == customer_id)
    if status == "open":
        q = q.where(BillableItem.invoice_id.is_(None), BillableItem.cancelled_at.is_(None))
    elif status == "invoiced":
        q = q.where(BillableItem.invoice_id.is_not(None))
    elif status == "cancelled":
        q = q.where(BillableItem.cancelled_at.is_not(None))
    if after_id:
        q = q.where(BillableItem.id > after_id)
    return [item_view(r) for r in db.scalars(q.order_by(BillableItem.id).limit(limit))]


# --- issuing ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewLine:
    description: str
    line: domain.PricedLine
    item_id: str | None = None


def _terms_of(settings: BillingSettings, days: int | None, end_of_month: bool | None) -> tuple[int, bool]:
    d = settings.payment_terms.days if days is None else days
    eom = settings.payment_terms.end_of_month if end_of_month is None else end_of_month
    verdict = domain.check_payment_terms(d, eom)
    if not verdict.allowed:
        raise InvalidInput([FieldError("body.payment_terms_days", verdict.reason)], rules=verdict.rules)
    return d, eom


def _issue(
    db: Session,
    *,
    platform: PlatformView,
    kind: str,
    customer_id: str,
    seller: _Seller,
    buyer: dict[str, Any],
    lines: Sequence[_NewLine],
    supply: tuple[date, date],
    now: datetime,
    actor: Actor | None,
    terms: tuple[int, bool] | None = None,
    credited: Invoice | None = None,
    reason: str = "",
    run_month: str | None = None,
) -> Invoice:
    settings = platform.settings.billing
    currency = settings.currency if credited is None else credited.currency
    if not lines:
        raise InvalidInput([FieldError("body.item_ids", "nothing to invoice")])
    if len(lines) > MAX_LINES:
        raise InvalidInput([FieldError("body.item_ids", f"at most {MAX_LINES} lines on one invoice")])
    totals = domain.totals([n.line for n in lines], currency)
    if not totals.net.is_positive:
        raise InvalidInput([FieldError("body.item_ids", "the total must be above zero")], rules=["LAW-VAT-1"])
    issue_date = local_today(platform, now)
    business = buyer.get("kind") == "business"
    rules = ["LAW-INVOICE-1", "LAW-VAT-1"]
    mentions: dict[str, Any] = {
        "early_payment_discount": settings.early_payment_discount,
        "zero_rate": settings.zero_rate_mention if any(r.rate == 0 for r in totals.breakdown) else None,
        "mandate": seller.mandate,
        "payment_terms": None,
        "late": None,
    }
    due: date | None = None
    if kind == domain.INVOICE:
        days, eom = terms if terms is not None else _terms_of(settings, None, None)
        due = domain.due_date(issue_date, days, eom)
        mentions["payment_terms"] = {"days": days, "end_of_month": eom}
        if business:
            decision = domain.late_terms(
                issue_date,
                legal_rates=settings.legal_interest_rates,
                contractual_rate=settings.late_penalty_rate,
                indemnity=Money(settings.recovery_indemnity_cents, "EUR"),
            )
            if decision.outcome is None:
                raise InvalidInput(
                    [FieldError("settings.billing.legal_interest_rates", decision.reason)],
                    detail=f"no business invoice can be issued: {decision.reason}",
                    rules=decision.rules,
                )
            late = decision.outcome
            mentions["late"] = {
                "penalty_rate": str(late.penalty_rate),
                "legal_rate": str(late.legal_rate),
                "half_year": late.half_year,
                "indemnity_cents": late.indemnity.amount,
            }
            rules.append("LAW-LATE-1")
    einvoice = domain.einvoice_applies(business, issue_date, settings.einvoice_from)
    if business:
        rules.append("LAW-EINVOICE-1")
    if run_month is not None:
        rules.append("KIDRIDE-INVOICE-1")
    prefix = settings.invoice_prefix if kind == domain.INVOICE else settings.credit_note_prefix
    series = domain.series_name(prefix, seller.code)
    # the counter row is locked until this transaction ends: numbers are unique and gap-free
    seq = counters.next_value(db, platform.id, domain.counter_name(series, issue_date.year))
    row = Invoice(
        id=new_id(),
        platform_id=platform.id,
        kind=kind,
        series=series,
        year=issue_date.year,
        seq=seq,
        number=domain.format_number(series, issue_date.year, seq, settings.number_digits),
        issue_date=issue_date,
        supply_start=supply[0],
        supply_end=supply[1],
        due_date=due,
        currency=currency,
        customer_id=customer_id,
        seller_id=seller.seller_id,
        seller=seller.identity,
        buyer=buyer,
        business=business,
        net=totals.net.amount,
        vat=totals.vat.amount,
        gross=totals.gross.amount,
        breakdown=[
            {"rate": str(domain.plain(b.rate)), "taxable": b.taxable.amount, "vat": b.vat.amount}
            for b in totals.breakdown
        ],
        mentions=mentions,
        locale=settings.pdf_locale,
        einvoice=einvoice.outcome,
        credited_invoice_id=credited.id if credited is not None else None,
        reason=reason,
        run_month=run_month,
        rules=rules,
        created_at=now,
    )
    db.add(row)
    db.flush()
    for position, (new, net) in enumerate(zip(lines, totals.line_nets, strict=True), start=1):
        db.add(
            InvoiceLine(
                invoice_id=row.id,
                platform_id=platform.id,
                position=position,
                description=new.description,
                quantity=str(new.line.quantity),
                unit_price=str(new.line.unit_price),
                vat_rate=str(new.line.vat_rate),
                net=net.amount,
                item_id=new.item_id,
            )
        )
    item_ids = [n.item_id for n in lines if n.item_id is not None]
    if item_ids:
        done = cast(
            CursorResult[Any],
            db.execute(
                update(BillableItem)
                .where(
                    BillableItem.platform_id == platform.id,
                    BillableItem.id.in_(item_ids),
                    BillableItem.invoice_id.is_(None),
                    BillableItem.cancelled_at.is_(None),
                )
                .values(invoice_id=row.id)
                .execution_options(synchronize_session=False)
            ),
        )
        if done.rowcount != len(item_ids):  # pragma: no cover - the items are locked above
            raise Conflict("an item was invoiced meanwhile; try again")
    db.flush()
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="billing.credit_note_issued" if kind == domain.CREDIT_NOTE else "billing.invoice_issued",
        obj=("invoice", row.id),
        at=now,
        rules=rules,
        reason=einvoice.reason if business else "",
        data={
            "number": row.number,
            "customer_id": customer_id,
            "gross": row.gross,
            "currency": currency,
            "credited_invoice_id": row.credited_invoice_id,
            "run_month": run_month,
        },
    )
    return row


def _lock_items(
    db: Session,
    platform_id: str,
    *,
    ids: Sequence[str] | None = None,
    customer_id: str | None = None,
    seller_id: str | None = None,
    before: date | None = None,
) -> list[BillableItem]:
    q = select(BillableItem).where(BillableItem.platform_id == platform_id)
    if ids is not None:
        q = q.where(BillableItem.id.in_(list(ids)))
    else:
        q = q.where(
            BillableItem.customer_id == customer_id,
            BillableItem.invoice_id.is_(None),
            BillableItem.cancelled_at.is_(None),
            BillableItem.seller_id.is_(None) if seller_id is None else BillableItem.seller_id == seller_id,
        )
        if before is not None:
            q = q.where(BillableItem.supply_date < before)
    # PostgreSQL re-checks the WHERE clause after waiting for a lock: items another run has just
    # invoiced drop out here, which is what makes two concurrent runs invoice each item once
    return list(db.scalars(q.order_by(BillableItem.supply_date, BillableItem.id).with_for_update()))


def _lines_of(items: Sequence[BillableItem]) -> list[_NewLine]:
    return [
        _NewLine(
            description=i.description,
            line=domain.PricedLine(Decimal(i.quantity), Decimal(i.unit_price), Decimal(i.vat_rate)),
            item_id=i.id,
        )
        for i in items
    ]


def invoice_items(
    db: Session,
    *,
    platform: PlatformView,
    customer_id: str,
    item_ids: Sequence[str],
    now: datetime,
    actor: Actor | None = None,
    payment_terms_days: int | None = None,
    end_of_month: bool | None = None,
) -> InvoiceView:
    """Issue one invoice to `customer_id` for the given open items (all of one seller)."""
    _customer(db, platform, customer_id, "body.customer_id")
    ids = list(dict.fromkeys(item_ids))
    if not ids:
        raise InvalidInput([FieldError("body.item_ids", "at least one item")])
    terms = _terms_of(platform.settings.billing, payment_terms_days, end_of_month)
    items = _lock_items(db, platform.id, ids=ids)
    found = {i.id: i for i in items}
    errors = []
    for n, item_id in enumerate(ids):
        item = found.get(item_id)
        if item is None or item.customer_id != customer_id:
            errors.append(FieldError(f"body.item_ids.{n}", "no such item for this customer"))
        elif item.cancelled_at is not None:
            errors.append(FieldError(f"body.item_ids.{n}", "the item is cancelled"))
        elif item.invoice_id is not None:
            errors.append(FieldError(f"body.item_ids.{n}", "the item is invoiced already"))
    if errors:
        raise InvalidInput(errors)
    items = [found[i] for i in ids]  # the lines in the order the caller gave
    sellers = {i.seller_id for i in items}
    if len(sellers) > 1:
        raise InvalidInput(
            [FieldError("body.item_ids", "the items have different sellers: one invoice each")]
        )
    seller = _seller(db, platform, sellers.pop())
    buyer = buyer_of(db, platform, customer_id)
    row = _issue(
        db,
        platform=platform,
        kind=domain.INVOICE,
        customer_id=customer_id,
        seller=seller,
        buyer=buyer,
        lines=_lines_of(items),
        supply=(min(i.supply_date for i in items), max(i.supply_date for i in items)),
        now=now,
        actor=actor,
        terms=terms,
    )
    return _view(db, row)


def invoice_open_items(
    db: Session,
    *,
    platform: PlatformView,
    customer_id: str,
    seller_id: str | None,
    before: date,
    now: datetime,
    run_month: str | None = None,
    actor: Actor | None = None,
) -> InvoiceView | None:
    """Issue one invoice for every open item of `customer_id` (sold by `seller_id`) supplied before
    `before`; None when there is none left (another run took them). KIDRIDE-INVOICE-1."""
    items = _lock_items(db, platform.id, customer_id=customer_id, seller_id=seller_id, before=before)
    if not items:
        return None
    seller = _seller(db, platform, seller_id)
    buyer = buyer_of(db, platform, customer_id)
    row = _issue(
        db,
        platform=platform,
        kind=domain.INVOICE,
        customer_id=customer_id,
        seller=seller,
        buyer=buyer,
        lines=_lines_of(items),
        supply=(min(i.supply_date for i in items), max(i.supply_date for i in items)),
        now=now,
        actor=actor,
        run_month=run_month,
    )
    return _view(db, row)


def open_customers(db: Session, *, platform_id: str, before: date) -> list[tuple[str, str | None]]:
    """(customer, seller) pairs with open items supplied before `before`."""
    rows = db.execute(
        select(BillableItem.customer_id, BillableItem.seller_id)
        .where(
            BillableItem.platform_id == platform_id,
            BillableItem.invoice_id.is_(None),
            BillableItem.cancelled_at.is_(None),
            BillableItem.supply_date < before,
        )
        .group_by(BillableItem.customer_id, BillableItem.seller_id)
        .order_by(BillableItem.customer_id, BillableItem.seller_id)
    )
    return [(r[0], r[1]) for r in rows]


# --- credit notes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CreditLine:
    description: str
    quantity: str | Decimal
    unit_price: str | Decimal  # net
    vat_rate: str | Decimal


def credited_by_rate(db: Session, invoice_id: str) -> list[dict[Decimal, Money]]:
    notes = db.scalars(select(Invoice).where(Invoice.credited_invoice_id == invoice_id).order_by(Invoice.id))
    return [{Decimal(b["rate"]): Money(int(b["taxable"]), n.currency) for b in n.breakdown} for n in notes]


def issue_credit_note(
    db: Session,
    *,
    platform: PlatformView,
    invoice_id: str,
    reason: str,
    now: datetime,
    lines: Sequence[CreditLine] | None = None,
    actor: Actor | None = None,
) -> InvoiceView:
    """A credit note correcting invoice `invoice_id`: of the given lines (partial), or of everything
    that remains to credit (`lines=None`). Never more than remains at any VAT rate (LAW-INVOICE-1)."""
    if not reason or not reason.strip() or len(reason) > 500 or _nul(reason):
        raise InvalidInput([FieldError("body.reason", "1 to 500 characters: why the invoice is corrected")])
    # the invoice row is locked: two credit notes of one invoice are decided one after the other
    original = db.scalar(
        select(Invoice).where(Invoice.platform_id == platform.id, Invoice.id == invoice_id).with_for_update()
    )
    if original is None:
        raise NotFound("no such invoice")
    if original.kind != domain.INVOICE:
        raise Conflict("a credit note corrects an invoice, not another credit note", rules=["LAW-INVOICE-1"])
    invoice = _view(db, original)
    remaining = domain.remaining_by_rate(invoice.taxable_by_rate(), credited_by_rate(db, invoice_id))
    new_lines: list[_NewLine]
    if lines is None:
        if all(v.is_zero for v in remaining.values()):
            raise Conflict("the invoice is fully credited already", rules=["LAW-INVOICE-1"])
        if remaining == invoice.taxable_by_rate():
            new_lines = [
                _NewLine(ln.description, domain.PricedLine(ln.quantity, ln.unit_price, ln.vat_rate))
                for ln in invoice.lines
            ]
        else:
            word = (
                "Balance of invoice"
                if platform.settings.billing.pdf_locale == "en"
                else "Solde de la facture"
            )
            new_lines = [
                _NewLine(f"{word} {invoice.number}", domain.PricedLine(Decimal(1), left.to_major(), rate))
                for rate, left in sorted(remaining.items())
                if left.is_positive
            ]
    else:
        new_lines = _credit_lines(platform, lines, set(remaining))
    requested = domain.totals([n.line for n in new_lines], invoice.currency)
    verdict = domain.credit_verdict(remaining, {b.rate: b.taxable for b in requested.breakdown})
    if not verdict.allowed:
        raise Conflict(verdict.reason, rules=verdict.rules, extra={"remaining": _remaining_json(remaining)})
    seller = _seller(db, platform, original.seller_id)
    row = _issue(
        db,
        platform=platform,
        kind=domain.CREDIT_NOTE,
        customer_id=original.customer_id,
        seller=seller,
        buyer=dict(original.buyer),
        lines=new_lines,
        supply=(original.supply_start, original.supply_end),
        now=now,
        actor=actor,
        credited=original,
        reason=reason.strip(),
    )
    return _view(db, row)


def _remaining_json(remaining: dict[Decimal, Money]) -> list[dict[str, Any]]:
    return [{"vat_rate": str(r), "taxable": m.amount} for r, m in sorted(remaining.items())]


def _credit_lines(platform: PlatformView, lines: Sequence[CreditLine], rates: set[Decimal]) -> list[_NewLine]:
    errors: list[FieldError] = []
    out: list[_NewLine] = []
    if not lines:
        errors.append(FieldError("body.lines", "at least one line, or leave lines out to credit the rest"))
    for n, ln in enumerate(lines):
        where = f"body.lines.{n}"
        if (
            not ln.description
            or not ln.description.strip()
            or len(ln.description) > 500
            or _nul(ln.description)
        ):
            errors.append(FieldError(f"{where}.description", "1 to 500 characters"))
        try:
            qty = domain.parse_decimal(ln.quantity, places=2)
            price = domain.parse_decimal(ln.unit_price, places=2)
            rate = domain.plain(domain.parse_decimal(ln.vat_rate, places=2, positive=False))
        except ValueError as exc:
            errors.append(FieldError(where, str(exc)))
            continue
        if rate not in rates:
            errors.append(FieldError(f"{where}.vat_rate", "the invoice has no line at this VAT rate"))
            continue
        out.append(_NewLine(ln.description.strip(), domain.PricedLine(qty, price, rate)))
    if errors:
        raise InvalidInput(errors)
    return out


# --- reading -----------------------------------------------------------------------------------------


def _view(db: Session, row: Invoice) -> InvoiceView:
    lines = list(db.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == row.id)))
    return invoice_view(row, lines)


def get_invoice(
    db: Session, *, platform_id: str, invoice_id: str, customer_id: str | None = None
) -> InvoiceView:
    """One invoice or credit note; NotFound when it is another platform's or another customer's."""
    q = select(Invoice).where(Invoice.platform_id == platform_id, Invoice.id == invoice_id)
    if customer_id is not None:
        q = q.where(Invoice.customer_id == customer_id)
    row = db.scalar(q)
    if row is None:
        raise NotFound("no such invoice")
    return _view(db, row)


def list_invoices(
    db: Session,
    *,
    platform_id: str,
    customer_id: str | None = None,
    kind: str | None = None,
    after_id: str | None = None,
    limit: int = 50,
) -> list[InvoiceView]:
    q = select(Invoice).where(Invoice.platform_id == platform_id)
    if customer_id:
        q = q.where(Invoice.customer_id == customer_id)
    if kind:
        q = q.where(Invoice.kind == kind)
    if after_id:
        q = q.where(Invoice.id > after_id)
    rows = list(db.scalars(q.order_by(Invoice.id).limit(limit)))
    if not rows:
        return []
    lines: dict[str, list[InvoiceLine]] = {r.id: [] for r in rows}
    for line in db.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id.in_(list(lines)))):
        lines[line.invoice_id].append(line)
    return [invoice_view(r, lines[r.id]) for r in rows]


def credited_total(db: Session, *, invoice_id: str) -> int:
    """Gross minor units credited so far on an invoice."""
    return int(
        db.scalar(
            select(func.coalesce(func.sum(Invoice.gross), 0)).where(Invoice.credited_invoice_id == invoice_id)
        )
        or 0
    )
