"""Actions of the metered session process: they touch the session row, the ledger, the port and
the outbox, inside the transition's transaction."""

from __future__ import annotations

from collections.abc import Callable

from entremise.booking.service import ActionContext
from entremise.metering import service


def mirror(ctx: ActionContext) -> None:
    service.mirror_state(ctx.db, ctx.platform_id, str(ctx.data["session_id"]), ctx.to_state, ctx.now)


def note_end(ctx: ActionContext) -> None:
    ctx.data["close_at"] = str(ctx.params["close_at"])
    ctx.data["end_reported"] = True


def go_live(ctx: ActionContext) -> None:
    for key in ("answered_at", "warn_at", "cutoff_at"):
        ctx.data[key] = str(ctx.params[key])


def warn(ctx: ActionContext) -> None:
    service.warn_client(ctx.db, ctx.platform_id, str(ctx.data["session_id"]), ctx.now)


def hang_up(ctx: ActionContext) -> None:
    service.hang_up_line(ctx.db, ctx.platform_id, str(ctx.data["session_id"]), ctx.now)


def settle(ctx: ActionContext) -> None:
    ended_at = ctx.params.get("ended_at") or (
        ctx.data["cutoff_at"] if ctx.transition == "cutoff" else ctx.now.isoformat()
    )
    outcome = service.settle_session(
        ctx.db, ctx.platform_id, str(ctx.data["session_id"]), str(ended_at), ctx.transition, ctx.now
    )
    ctx.audit_data["statement"] = outcome


def release(ctx: ActionContext) -> None:
    service.release_session(ctx.db, ctx.platform_id, str(ctx.data["session_id"]), ctx.transition, ctx.now)


ACTIONS: dict[str, Callable[[ActionContext], None]] = {
    "metering.mirror": mirror,
    "metering.note_end": note_end,
    "metering.go_live": go_live,
    "metering.warn": warn,
    "metering.hang_up": hang_up,
    "metering.settle": settle,
    "metering.release": release,
}
