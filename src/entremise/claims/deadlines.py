"""The answer deadline of a claim, tracked by timers: the `claim-deadline` process.

Each claim awaiting an answer has one instance of this process (its `watch`), started when the
claim is filed (or escalated) with two timers the worker runs:

- `remind` at `remind_at` (the kind's `remind_before_hours` before the deadline, never earlier than
  halfway; skipped when already past): the party that must answer is reminded;
- `lapse` at `due_at`, the deadline: when the claim is still unanswered, the claimant is told of
  their right to mediation, with the mediator's contact details, and the respondent that the
  deadline passed; an audit entry `claim.overdue` records it with the kind's rule IDs.

Answering, closing or escalating the claim takes `stop`, which cancels the timers left. Every
transition is the system's: nobody can move a watch through the processes API.

The timer's action only reads the claim (never locks it): the claims service locks a claim and then
its watch, a timer locks the watch only, so the two can never wait on each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor
from entremise.booking import service as processes
from entremise.booking.process import ProcessDefinition, TimerSpec, Transition
from entremise.booking.registry import REGISTRY
from entremise.booking.service import ActionContext, ProcessActor
from entremise.claims import domain, notices
from entremise.claims.mediation import mediation_for
from entremise.claims.models import Claim
from entremise.claims.trail import claim_event
from entremise.kernel.errors import Conflict
from entremise.platforms import service as platforms
from entremise.platforms.service import PlatformView

PROCESS = "claim-deadline"


@dataclass(frozen=True)
class _Due:
    claim: Claim
    platform: PlatformView
    payload: dict[str, Any]


def _awaiting(ctx: ActionContext) -> _Due | None:
    """The claim a timer fired for, if it still awaits its answer (read without a lock)."""
    claim = ctx.db.scalar(
        select(Claim).where(Claim.platform_id == ctx.platform_id, Claim.id == ctx.data["claim_id"])
    )
    if claim is None or claim.state not in domain.AWAITING_ANSWER:
        ctx.audit_data["skipped"] = "the claim no longer awaits an answer"
        return None
    platform = platforms.get(ctx.db, ctx.platform_id)
    due = domain.deadline_at(claim.answer_due_at, platform.settings.timezone)
    ctx.audit_data["claim_id"] = claim.id
    return _Due(claim, platform, notices.base_payload(platform, claim, due))


@REGISTRY.action("claims.remind")
def remind(ctx: ActionContext) -> None:
    """Remind the party that must answer that the deadline is near."""
    due = _awaiting(ctx)
    if due is not None:
        ctx.audit_data["reminded"] = notices.to_respondent(
            ctx.db,
            due.platform,
            due.claim,
            "claims.reminder",
            due.payload,
            ctx.now,
            f"reminder:{ctx.instance_id}",
        )


@REGISTRY.action("claims.lapse")
def lapse(ctx: ActionContext) -> None:
    """The deadline passed: if unanswered, tell the claimant of mediation and the respondent."""
    due = _awaiting(ctx)
    if due is None:
        return
    claim, platform = due.claim, due.platform
    mediation = mediation_for(ctx.db, platform, claim.provider_id, ctx.now)
    notices.to_claimant(
        ctx.db,
        platform,
        claim,
        "claims.mediation",
        {**due.payload, **mediation.payload()},
        ctx.now,
        f"mediation:{ctx.instance_id}",
    )
    notices.to_respondent(
        ctx.db, platform, claim, "claims.overdue", due.payload, ctx.now, f"overdue:{ctx.instance_id}"
    )
    claim_event(
        ctx.db,
        claim,
        actor=Actor.system(),
        action="claim.overdue",
        now=ctx.now,
        reason=f"no answer before {due.payload['answer_due_at']}: the claimant was told of mediation",
        data={"answer_due_at": claim.answer_due_at.isoformat(), **mediation.payload()},
    )


DEFINITION = REGISTRY.register(
    ProcessDefinition(
        name=PROCESS,
        version=1,
        states=("watching", "lapsed", "stopped"),
        initial="watching",
        final=("lapsed", "stopped"),
        transitions=(
            Transition("remind", ("watching",), "watching", ("system",), actions=("claims.remind",)),
            Transition("lapse", ("watching",), "lapsed", ("system",), actions=("claims.lapse",)),
            Transition("stop", ("watching",), "stopped", ("system",)),
        ),
        initial_timers=(
            TimerSpec.at("remind", "remind_at", if_past="ignore"),
            TimerSpec.at("lapse", "due_at"),
        ),
    )
)


def start_watch(
    db: Session,
    *,
    platform_id: str,
    claim_id: str,
    filed_at: datetime,
    due_at: datetime,
    remind_before: timedelta,
    now: datetime,
) -> str:
    """Start tracking a claim's answer deadline; the watch's id."""
    remind_at = domain.reminder_at(filed_at, due_at, remind_before)
    view = processes.start(
        db,
        platform_id,
        PROCESS,
        ProcessActor.system(),
        {"claim_id": claim_id, "due_at": due_at.isoformat(), "remind_at": remind_at.isoformat()},
        now,
        subject=("claim", claim_id),
    )
    return view.id


def stop_watch(db: Session, *, platform_id: str, watch_id: str | None, now: datetime) -> None:
    """Stop tracking (the claim was answered, closed or escalated); nothing when already over."""
    if watch_id is None:
        return
    if processes.get_instance(db, platform_id, watch_id).final:
        return
    try:
        processes.take(db, platform_id, watch_id, "stop", ProcessActor.system(), now)
    except Conflict as exc:
        if exc.extra.get("state") == "watching":
            raise
        # the deadline lapsed meanwhile (its timer committed first): nothing left to stop
