"""What the steps of the appointment process do: move the money, keep the appointment row in step,
tell the participants. Each runs inside the transition's transaction (see `booking.service`)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import select

from entremise.accounts import service as accounts
from entremise.audit.service import record
from entremise.booking.service import ActionContext
from entremise.kernel.decision import Decision
from entremise.kernel.errors import FieldError, InvalidInput, NotFound
from entremise.kernel.money import Money
from entremise.notify.outbox import enqueue
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView
from entremise.scheduling import domain, funding
from entremise.scheduling.models import Appointment
from entremise.scheduling.settings import SchedulingSettings
from entremise.terms import service as terms

LIVE_STATES = ("confirmed", "started")


def figures(s: SchedulingSettings) -> domain.CancellationFigures:
    return domain.CancellationFigures(
        free_hours=s.cancel_free_hours,
        per_minute_fee_minutes=s.cancel_per_minute_fee_minutes,
        package_fee_percent=s.cancel_package_fee_percent,
        provider_free_hours=s.provider_fee_free_hours,
    )


def terms_of(row: Appointment) -> domain.Terms:
    c = row.currency
    return domain.Terms(
        kind="per_minute" if row.kind == "per_minute" else "package",
        minutes=row.minutes,
        price=Money(row.price, c),
        rate_per_minute=Money(row.rate_per_minute, c) if row.rate_per_minute is not None else None,
        fee_per_minute=Money(row.fee_per_minute, c),
        fee=Money(row.fee, c),
    )


def _row(ctx: ActionContext) -> Appointment:
    row = ctx.db.scalar(
        select(Appointment)
        .where(Appointment.platform_id == ctx.platform_id, Appointment.id == ctx.data["appointment_id"])
        .with_for_update()
    )
    if row is None:
        raise NotFound("no such appointment")
    return row


def _platform(ctx: ActionContext) -> PlatformView:
    return platforms.get(ctx.db, ctx.platform_id)


def _outcome(ctx: ActionContext, decision: Decision[Any], **amounts: int) -> None:
    """Keep the decision on the instance (shown to the parties) and in the transition's audit entry."""
    outcome = {"rules": list(decision.rules), "reason": decision.reason, **amounts}
    ctx.data["outcome"] = outcome
    ctx.audit_data["outcome"] = outcome
    record(
        ctx.db,
        platform_id=ctx.platform_id,
        actor=ctx.actor.audit_actor(),
        action=f"appointment.{ctx.transition}",
        obj=("appointment", str(ctx.data["appointment_id"])),
        at=ctx.now,
        rules=decision.rules,
        reason=decision.reason,
        data=amounts,
    )


def _key(ctx: ActionContext, what: str) -> str:
    return f"appointment:{ctx.data['appointment_id']}:{what}"


def _charge_client(
    ctx: ActionContext, row: Appointment, decision: Decision[domain.Charge], what: str
) -> None:
    charge = decision.outcome
    assert row.hold_id is not None
    funding.settle(
        ctx.db,
        platform_id=ctx.platform_id,
        hold_id=row.hold_id,
        provider_id=row.provider_id,
        total=charge.total,
        platform_part=charge.platform,
        key=_key(ctx, what),
        code=f"appointment.{what}",
        rules=decision.rules,
        reason=decision.reason,
        now=ctx.now,
    )
    row.charged = charge.total.amount
    _outcome(ctx, decision, charged=charge.total.amount, platform_part=charge.platform.amount, provider_fee=0)


def _refund_and_charge_provider(ctx: ActionContext, row: Appointment, decision: Decision[Money]) -> None:
    assert row.hold_id is not None
    funding.release(
        ctx.db,
        platform_id=ctx.platform_id,
        hold_id=row.hold_id,
        key=_key(ctx, "refund"),
        code="appointment.refunded",
        rules=decision.rules,
        reason="the client is refunded in full",
        now=ctx.now,
    )
    funding.charge_provider(
        ctx.db,
        platform_id=ctx.platform_id,
        provider_id=row.provider_id,
        amount=decision.outcome,
        appointment_id=row.id,
        rules=decision.rules,
        reason=decision.reason,
        now=ctx.now,
    )
    row.provider_fee = decision.outcome.amount
    _outcome(ctx, decision, charged=0, platform_part=0, provider_fee=decision.outcome.amount)


def mirror(ctx: ActionContext) -> None:
    row = _row(ctx)
    row.state = ctx.to_state
    row.active = ctx.to_state in LIVE_STATES
    row.updated_at = ctx.now


def record_join(ctx: ActionContext) -> None:
    role, at = ctx.params.get("role"), ctx.params.get("at")
    if role not in ("client", "provider") or not isinstance(at, str):
        raise InvalidInput([FieldError("params.role", "client or provider, with the time `at`")])
    joined = dict(ctx.data.get("joined") or {})
    joined.setdefault(role, at)
    ctx.data["joined"] = joined
    row = _row(ctx)
    when = datetime.fromisoformat(at)
    if role == "client" and row.client_joined_at is None:
        row.client_joined_at = when
    if role == "provider" and row.provider_joined_at is None:
        row.provider_joined_at = when
    ctx.audit_data["joined"] = role


def client_cancellation(ctx: ActionContext) -> None:
    row = _row(ctx)
    platform = _platform(ctx)
    withdrawal = terms.withdrawal_status(
        ctx.db,
        platform_id=ctx.platform_id,
        object_type="appointment",
        object_id=row.id,
        user_id=row.client_id,
        now=ctx.now,
    )
    decision = domain.client_cancellation(
        terms_of(row),
        row.starts_at,
        ctx.now,
        figures(platform.settings.scheduling),
        withdrawal_open=withdrawal.open,
    )
    _charge_client(ctx, row, decision, "cancellation_fee")


def client_missed(ctx: ActionContext) -> None:
    row = _row(ctx)
    decision = domain.client_no_show(terms_of(row), figures(_platform(ctx).settings.scheduling))
    _charge_client(ctx, row, decision, "no_show_fee")


def provider_cancellation(ctx: ActionContext) -> None:
    row = _row(ctx)
    decision = domain.provider_fee(
        terms_of(row), row.starts_at, ctx.now, figures(_platform(ctx).settings.scheduling), missed=False
    )
    _refund_and_charge_provider(ctx, row, decision)


def provider_missed(ctx: ActionContext) -> None:
    row = _row(ctx)
    decision = domain.provider_fee(
        terms_of(row), row.starts_at, ctx.now, figures(_platform(ctx).settings.scheduling), missed=True
    )
    _refund_and_charge_provider(ctx, row, decision)


def refund(ctx: ActionContext) -> None:
    row = _row(ctx)
    decision: Decision[domain.Charge] = Decision(
        domain.Charge.none(row.currency),
        reason="nobody joined: the client is refunded in full, nobody is charged",
    )
    _charge_client(ctx, row, decision, "refund")


def release_unsettled(ctx: ActionContext) -> None:
    row = _row(ctx)
    decision: Decision[domain.Charge] = Decision(
        domain.Charge.none(row.currency),
        reason="no consumption was reported for this consultation: the reserved money is given back",
    )
    _charge_client(ctx, row, decision, "unsettled_release")


def settle(ctx: ActionContext) -> None:
    """The metered consultation is settled: take what was consumed, give back the rest."""
    row = _row(ctx)
    charge, fee = ctx.params.get("charge"), ctx.params.get("platform_fee")
    if (
        not isinstance(charge, int)
        or not isinstance(fee, int)
        or isinstance(charge, bool)
        or isinstance(fee, bool)
        or not 0 <= fee <= charge <= row.price
    ):
        raise InvalidInput(
            [FieldError("params.charge", f"0 <= platform_fee <= charge <= {row.price} (the amount held)")]
        )
    rules = tuple(str(r) for r in ctx.params.get("rules") or ("EXPERT-CONSULT-1",))
    decision = Decision(
        domain.Charge(Money(charge, row.currency), Money(fee, row.currency)),
        rules=rules,
        reason=str(ctx.params.get("reason") or "the consultation took place"),
    )
    _charge_client(ctx, row, decision, "settled")


def remind(ctx: ActionContext) -> None:
    _tell(ctx, "scheduling.appointment_reminder")


def tell_ended(ctx: ActionContext) -> None:
    _tell(ctx, "scheduling.appointment_ended")


def _tell(ctx: ActionContext, template: str) -> None:
    row = _row(ctx)
    platform = _platform(ctx)
    outcome = ctx.data.get("outcome") or {}
    for user_id, role in ((row.client_id, "client"), (row.provider_id, "provider")):
        contact = accounts.contact_of(ctx.db, ctx.platform_id, user_id)
        if not contact.email:
            continue
        enqueue(
            ctx.db,
            platform_id=ctx.platform_id,
            channel="email",
            template=template,
            recipient=contact.email,
            locale=contact.locale,
            payload={
                "platform_name": platform.name,
                "role": role,
                "state": ctx.to_state,
                "starts_at": row.starts_at.isoformat(),
                "minutes": row.minutes,
                "mode": row.mode,
                "charged": str(Money(int(outcome.get("charged", 0)), row.currency)) if outcome else None,
                "provider_fee": str(Money(int(outcome.get("provider_fee", 0)), row.currency))
                if outcome
                else None,
                "reason": outcome.get("reason"),
            },
            now=ctx.now,
            user_id=user_id,
            dedupe_key=f"{template}:{row.id}:{ctx.transition}:{role}",
        )


ACTIONS: dict[str, Callable[[ActionContext], None]] = {
    "appointment.mirror": mirror,
    "appointment.record_join": record_join,
    "appointment.client_cancellation": client_cancellation,
    "appointment.client_missed": client_missed,
    "appointment.provider_cancellation": provider_cancellation,
    "appointment.provider_missed": provider_missed,
    "appointment.refund": refund,
    "appointment.release_unsettled": release_unsettled,
    "appointment.settle": settle,
    "appointment.remind": remind,
    "appointment.tell_ended": tell_ended,
}
