"""What the steps of a DJob order do: move the money, record deliveries and revisions, keep the
order row in step, tell the other side. Each runs inside the transition's transaction."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from sqlalchemy import func, select

from entremise.accounts import service as accounts
from entremise.audit.service import record
from entremise.booking.service import ActionContext
from entremise.files import service as files
from entremise.kernel.errors import FieldError, InvalidInput, NotFound
from entremise.kernel.ids import new_id
from entremise.kernel.money import Money
from entremise.notify.outbox import enqueue
from entremise.orders import funding
from entremise.orders.domain import Split
from entremise.orders.models import DJobDelivery, DJobOrder
from entremise.platforms import service as platforms

DELIVERY_PURPOSE = "order_delivery"
BRIEF_PURPOSE = "order_brief"
MESSAGE_MAX = 5000
NOTE_MAX = 5000


def _row(ctx: ActionContext) -> DJobOrder:
    row = ctx.db.scalar(
        select(DJobOrder)
        .where(DJobOrder.platform_id == ctx.platform_id, DJobOrder.id == ctx.data["order_id"])
        .with_for_update()
    )
    if row is None:
        raise NotFound("no such order")
    return row


def mirror(ctx: ActionContext) -> None:
    row = _row(ctx)
    row.state = ctx.to_state
    row.updated_at = ctx.now


def start(ctx: ActionContext) -> None:
    """The provider accepts the job: it is due `delivery_days` from now."""
    row = _row(ctx)
    row.due_at = ctx.now + timedelta(days=int(ctx.data["delivery_days"]))
    ctx.data["due_at"] = row.due_at.isoformat()


def release(ctx: ActionContext) -> None:
    row = _row(ctx)
    funding.release(
        ctx.db,
        platform_id=ctx.platform_id,
        hold_id=row.hold_id,
        order_id=row.id,
        reason=f"order {ctx.to_state}: the reserved price is given back",
        now=ctx.now,
    )


def pay(ctx: ActionContext) -> None:
    """CONSULT-DJOB-1: the accepted delivery is paid, the commission going to the platform."""
    row = _row(ctx)
    split = Split(Money(row.total, row.currency), Money(row.commission, row.currency))
    how = "accepted by the client" if ctx.transition == "accept_delivery" else "accepted automatically"
    tx = funding.settle(
        ctx.db,
        platform_id=ctx.platform_id,
        hold_id=row.hold_id,
        provider_id=row.provider_id,
        split=split,
        order_id=row.id,
        reason=f"delivery {how}: {split.provider} to the provider, {split.commission} commission",
        now=ctx.now,
    )
    last = _last_delivery(ctx, row.id)
    if last is not None and last.answer is None:
        last.answer = "accepted" if ctx.transition == "accept_delivery" else "auto_accepted"
        last.answered_at = ctx.now
    ctx.audit_data["ledger_transaction_id"] = tx
    ctx.data["paid"] = {"total": row.total, "commission": row.commission, "ledger_transaction_id": tx}


def _last_delivery(ctx: ActionContext, order_id: str) -> DJobDelivery | None:
    return ctx.db.scalar(
        select(DJobDelivery)
        .where(DJobDelivery.order_id == order_id)
        .order_by(DJobDelivery.number.desc())
        .limit(1)
    )


def record_delivery(ctx: ActionContext) -> None:
    """The provider delivers files through the platform; the client may read them from now on."""
    row = _row(ctx)
    settings = platforms.get(ctx.db, ctx.platform_id).settings.orders
    file_ids = ctx.params.get("file_ids")
    message = ctx.params.get("message") or ""
    errors: list[FieldError] = []
    if not isinstance(file_ids, list) or not file_ids or not all(isinstance(f, str) for f in file_ids):
        errors.append(FieldError("body.file_ids", "at least one file of yours uploaded for order_delivery"))
    elif len(file_ids) > settings.delivery_max_files:
        errors.append(FieldError("body.file_ids", f"at most {settings.delivery_max_files} files"))
    if not isinstance(message, str) or len(message) > MESSAGE_MAX:
        errors.append(FieldError("body.message", f"a text of at most {MESSAGE_MAX} characters"))
    if errors:
        raise InvalidInput(errors, rules=["CONSULT-DJOB-1"])
    assert isinstance(file_ids, list)
    files.owned(
        ctx.db,
        platform_id=ctx.platform_id,
        owner_id=row.provider_id,
        file_ids=file_ids,
        purpose=DELIVERY_PURPOSE,
        field="body.file_ids",
    )
    number = (
        int(
            ctx.db.scalar(
                select(func.count()).select_from(DJobDelivery).where(DJobDelivery.order_id == row.id)
            )
            or 0
        )
        + 1
    )
    delivery = DJobDelivery(
        id=new_id(),
        platform_id=ctx.platform_id,
        order_id=row.id,
        number=number,
        file_ids=list(file_ids),
        message=message,
        delivered_at=ctx.now,
    )
    ctx.db.add(delivery)
    for file_id in file_ids:
        files.grant(
            ctx.db,
            platform_id=ctx.platform_id,
            file_id=file_id,
            user_id=row.client_id,
            cause=("djob_order", row.id),
            now=ctx.now,
            actor=ctx.actor.audit_actor(),
        )
    ctx.data["auto_accept_at"] = (ctx.now + timedelta(days=settings.auto_accept_days)).isoformat()
    ctx.data["deliveries"] = number
    ctx.audit_data["delivery"] = {"id": delivery.id, "number": number, "files": list(file_ids)}


def record_revision(ctx: ActionContext) -> None:
    row = _row(ctx)
    note = ctx.params.get("note")
    if not isinstance(note, str) or not note.strip() or len(note) > NOTE_MAX:
        raise InvalidInput([FieldError("body.note", f"say what to change, in at most {NOTE_MAX} characters")])
    last = _last_delivery(ctx, row.id)
    if last is not None:
        last.answer = "revision"
        last.answer_note = note
        last.answered_at = ctx.now
    row.revisions += 1
    ctx.data["revisions"] = row.revisions
    ctx.audit_data["revision"] = row.revisions


def tell(ctx: ActionContext) -> None:
    """Tell the other side of the order what happened."""
    row = _row(ctx)
    platform = platforms.get(ctx.db, ctx.platform_id)
    to = (
        row.client_id
        if ctx.transition in ("accept", "decline", "expire", "deliver", "auto_accept")
        else row.provider_id
    )
    extra = [row.provider_id] if ctx.transition in ("expire", "auto_accept") else []
    for user_id in [to, *extra]:
        contact = accounts.contact_of(ctx.db, ctx.platform_id, user_id)
        if not contact.email:
            continue
        enqueue(
            ctx.db,
            platform_id=ctx.platform_id,
            channel="email",
            template="orders.order_update",
            recipient=contact.email,
            locale=contact.locale,
            payload={
                "platform_name": platform.name,
                "event": ctx.transition,
                "title": row.title,
                "total": str(Money(row.total, row.currency)),
                "auto_accept_at": ctx.data.get("auto_accept_at") if ctx.transition == "deliver" else None,
            },
            now=ctx.now,
            user_id=user_id,
            dedupe_key=f"orders.order_update:{row.id}:{ctx.transition}:{ctx.data.get('deliveries', 0)}:{user_id}",
        )
    record(
        ctx.db,
        platform_id=ctx.platform_id,
        actor=ctx.actor.audit_actor(),
        action=f"djob_order.{ctx.transition}",
        obj=("djob_order", row.id),
        at=ctx.now,
        rules=list(ctx.verdict.rules) or ["CONSULT-DJOB-1"],
        reason=ctx.verdict.reason or f"{ctx.from_state} -> {ctx.to_state}",
    )


ACTIONS: dict[str, Callable[[ActionContext], None]] = {
    "djob.mirror": mirror,
    "djob.start": start,
    "djob.release": release,
    "djob.pay": pay,
    "djob.record_delivery": record_delivery,
    "djob.record_revision": record_revision,
    "djob.tell": tell,
}
