"""Running processes: start an instance, take a transition, read instances and timers.

Every function works in the caller's transaction (`with db.begin(): service.take(db, ...)`): the
state change, the actions' writes, the audit entry and the timers commit or roll back together.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.booking.models import ProcessInstance, Timer
from entremise.booking.process import (
    Allowed,
    ProcessDataError,
    ProcessDefinition,
    Refused,
    ScheduledTimer,
    plan_start,
    plan_transition,
    schedule_timers,
)
from entremise.booking.registry import REGISTRY, ProcessRegistry
from entremise.kernel.decision import Verdict
from entremise.kernel.errors import Conflict, FieldError, Forbidden, InvalidInput, NotFound
from entremise.kernel.ids import new_id

LIVE_TIMER = ("pending", "failed")  # statuses of a timer still to run


@dataclass(frozen=True)
class ProcessActor:
    """Who takes a transition: a role of the process (client, provider, operator, system) and an id."""

    role: str
    id: str | None = None

    @staticmethod
    def system() -> ProcessActor:
        return ProcessActor("system")

    def audit_actor(self) -> Actor:
        if self.role == "system":
            return Actor("system", self.id)
        return Actor("staff" if self.role == "operator" else "user", self.id)


@dataclass
class ActionContext:
    """What an action sees. It may write rows through `db`, queue outbox messages, change `data`
    (saved on the instance afterwards) and add facts to `audit_data` (recorded with the transition)."""

    db: Session
    platform_id: str
    instance_id: str
    process: str
    version: int
    transition: str
    from_state: str
    to_state: str
    actor: ProcessActor
    data: dict[str, Any]
    params: Mapping[str, Any]
    now: datetime
    verdict: Verdict
    subject: tuple[str, str] | None = None
    audit_data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class InstanceView:
    id: str
    platform_id: str
    process: str
    version: int
    state: str
    data: dict[str, Any]
    subject: tuple[str, str] | None
    row_version: int
    created_at: datetime
    updated_at: datetime
    final: bool


@dataclass(frozen=True)
class TimerView:
    id: int
    transition: str
    due_at: datetime
    status: str
    attempts: int
    next_attempt_at: datetime
    last_error: str | None
    note: str | None
    done_at: datetime | None


@dataclass(frozen=True)
class TakeResult:
    instance: InstanceView
    verdict: Verdict
    scheduled: tuple[ScheduledTimer, ...]
    cancelled: int


def _view(row: ProcessInstance, definition: ProcessDefinition) -> InstanceView:
    subject = (row.subject_type, row.subject_id) if row.subject_type and row.subject_id else None
    return InstanceView(
        id=row.id,
        platform_id=row.platform_id,
        process=row.process,
        version=row.process_version,
        state=row.state,
        data=dict(row.data),
        subject=subject,
        row_version=row.row_version,
        created_at=row.created_at,
        updated_at=row.updated_at,
        final=row.state in definition.final,
    )


def _json_object(value: Mapping[str, Any] | None, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise InvalidInput([FieldError(where, "must be an object")])
    try:
        return dict(json.loads(json.dumps(dict(value))))
    except (TypeError, ValueError) as exc:
        raise InvalidInput([FieldError(where, f"must be plain JSON: {exc}")]) from exc


def _check_party(definition: ProcessDefinition, actor: ProcessActor, data: Mapping[str, Any]) -> None:
    data_field = definition.party_field(actor.role)
    if data_field is None:
        return
    if actor.id is None or data.get(data_field) != actor.id:
        raise Forbidden(f"only the {actor.role} of this {definition.name} may act as {actor.role}")


def _schedule(db: Session, row: ProcessInstance, timers: tuple[ScheduledTimer, ...], now: datetime) -> None:
    for t in timers:
        db.add(
            Timer(
                platform_id=row.platform_id,
                instance_id=row.id,
                transition=t.transition,
                due_at=t.due_at,
                status="pending",
                attempts=0,
                next_attempt_at=t.due_at,
                created_at=now,
            )
        )


def start(
    db: Session,
    platform_id: str,
    name: str,
    actor: ProcessActor,
    data: Mapping[str, Any],
    now: datetime,
    version: int | None = None,
    *,
    subject: tuple[str, str] | None = None,
    registry: ProcessRegistry = REGISTRY,
) -> InstanceView:
    """Start an instance of process `name` (latest version unless `version`) in its initial state."""
    definition = registry.get(name, version)
    clean = _json_object(data, "data")
    _check_party(definition, actor, clean)
    try:
        timers = plan_start(definition, clean, now)
    except ProcessDataError as exc:
        raise InvalidInput([FieldError(f"data.{exc.field}", exc.reason)]) from exc
    row = ProcessInstance(
        id=new_id(),
        platform_id=platform_id,
        process=definition.name,
        process_version=definition.version,
        state=definition.initial,
        data=clean,
        subject_type=subject[0] if subject else None,
        subject_id=subject[1] if subject else None,
        row_version=1,
        created_at=now,
        updated_at=now,
    )
    db.add(row)
    db.flush()
    _schedule(db, row, timers, now)
    record(
        db,
        platform_id=platform_id,
        actor=actor.audit_actor(),
        action=f"{definition.name}.started",
        obj=("process_instance", row.id),
        at=now,
        reason=f"started in {definition.initial!r}",
        data={
            "process": definition.name,
            "version": definition.version,
            "state": definition.initial,
            "role": actor.role,
            "timers": [{"transition": t.transition, "due_at": t.due_at.isoformat()} for t in timers],
        },
    )
    db.flush()
    return _view(row, definition)


def _locked(db: Session, platform_id: str, instance_id: str) -> ProcessInstance:
    row = db.scalar(
        select(ProcessInstance)
        .where(ProcessInstance.id == instance_id, ProcessInstance.platform_id == platform_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    if row is None:
        raise NotFound(f"no process instance {instance_id!r}")
    return row


def _refusal(plan: Refused) -> Exception:
    extra = {
        "state": plan.state,
        "transition": plan.transition,
        "allowed_transitions": list(plan.allowed_transitions),
    }
    error: InvalidInput | Forbidden | Conflict
    if plan.kind == "unknown_transition":
        error = InvalidInput([FieldError("transition", plan.reason)], rules=plan.rules)
    elif plan.kind == "actor_not_allowed":
        error = Forbidden(plan.reason, rules=plan.rules)
    else:
        error = Conflict(plan.reason, rules=plan.rules)
    error.extra.update(extra)
    return error


def take(
    db: Session,
    platform_id: str,
    instance_id: str,
    transition: str,
    actor: ProcessActor,
    now: datetime,
    params: Mapping[str, Any] | None = None,
    *,
    expected_row_version: int | None = None,
    by_timer: int | None = None,
    registry: ProcessRegistry = REGISTRY,
) -> TakeResult:
    """Take `transition` on an instance as `actor`, in the caller's transaction.

    Locks the instance row, checks the state, the actor and the guard, runs the actions, saves the new
    state, cancels the timers of the state left and schedules the new ones, and writes the audit entry
    (with the guard's rules and reason). Refusals are raised before anything is written:
    NotFound (no such instance on this platform), Conflict (wrong state, guard refusal, or
    `expected_row_version` outdated), Forbidden (this role may not take it, or the actor is not the
    instance's party for that role), InvalidInput (no such transition). Each refusal carries
    `extra["allowed_transitions"]`: what this actor may take from the current state.
    """
    clean_params = _json_object(params, "params")
    row = _locked(db, platform_id, instance_id)
    if expected_row_version is not None and row.row_version != expected_row_version:
        raise Conflict(
            f"the instance changed (version {row.row_version}, expected {expected_row_version})",
            extra={"row_version": row.row_version},
        )
    definition = registry.get(row.process, row.process_version)
    _check_party(definition, actor, row.data)
    try:
        plan = plan_transition(
            definition, row.state, transition, actor.role, row.data, clean_params, now, registry.guards
        )
    except ProcessDataError as exc:
        raise InvalidInput([FieldError(f"data.{exc.field}", exc.reason)]) from exc
    if isinstance(plan, Refused):
        raise _refusal(plan)
    assert isinstance(plan, Allowed)
    ctx = ActionContext(
        db=db,
        platform_id=platform_id,
        instance_id=row.id,
        process=definition.name,
        version=definition.version,
        transition=transition,
        from_state=plan.from_state,
        to_state=plan.to_state,
        actor=actor,
        data=json.loads(json.dumps(row.data)),
        params=clean_params,
        now=now,
        verdict=plan.verdict,
        subject=(row.subject_type, row.subject_id) if row.subject_type and row.subject_id else None,
    )
    t = definition.transition(transition)
    assert t is not None
    for action in t.actions:
        registry.action_fn(action)(ctx)
    before = row.data
    data = _json_object(ctx.data, "data")
    row.state = plan.to_state
    row.data = data
    row.row_version += 1
    row.updated_at = now
    cancelled = 0
    if plan.cancel:
        q = update(Timer).where(
            Timer.platform_id == platform_id,
            Timer.instance_id == row.id,
            Timer.status.in_(LIVE_TIMER),
            Timer.transition.in_(plan.cancel),
        )
        if by_timer is not None:
            q = q.where(Timer.id != by_timer)
        note = f"cancelled by {transition!r} ({plan.from_state} -> {plan.to_state})"
        result = db.execute(
            q.values(status="cancelled", done_at=now, note=note).execution_options(synchronize_session=False)
        )
        cancelled = int(result.rowcount)  # type: ignore[attr-defined]
    scheduled = plan.schedule
    if data != before and t.timers:
        # the actions changed the data a timer may be anchored on: compute the times again
        try:
            scheduled = schedule_timers(t.timers, now, data)
        except ProcessDataError as exc:
            raise InvalidInput([FieldError(f"data.{exc.field}", exc.reason)]) from exc
    _schedule(db, row, scheduled, now)
    audit_data: dict[str, Any] = {
        "process": definition.name,
        "version": definition.version,
        "transition": transition,
        "from": plan.from_state,
        "to": plan.to_state,
        "role": actor.role,
        "params": clean_params,
        "timers": [{"transition": s.transition, "due_at": s.due_at.isoformat()} for s in scheduled],
        "cancelled_timers": cancelled,
    }
    if by_timer is not None:
        audit_data["timer_id"] = by_timer
    audit_data.update(_json_object(ctx.audit_data, "audit_data"))
    record(
        db,
        platform_id=platform_id,
        actor=actor.audit_actor(),
        action=f"{definition.name}.{transition}",
        obj=("process_instance", row.id),
        at=now,
        rules=plan.verdict.rules,
        reason=plan.verdict.reason or f"{plan.from_state} -> {plan.to_state}",
        data=audit_data,
    )
    db.flush()
    return TakeResult(_view(row, definition), plan.verdict, scheduled, cancelled)


def get_instance(
    db: Session, platform_id: str, instance_id: str, *, registry: ProcessRegistry = REGISTRY
) -> InstanceView:
    row = db.scalar(
        select(ProcessInstance).where(
            ProcessInstance.id == instance_id, ProcessInstance.platform_id == platform_id
        )
    )
    if row is None:
        raise NotFound(f"no process instance {instance_id!r}")
    return _view(row, registry.get(row.process, row.process_version))


def available_transitions(
    db: Session, platform_id: str, instance_id: str, role: str, *, registry: ProcessRegistry = REGISTRY
) -> list[str]:
    """Transitions `role` may take from the instance's current state (guards not evaluated)."""
    view = get_instance(db, platform_id, instance_id, registry=registry)
    return list(registry.get(view.process, view.version).available(view.state, role))


def list_timers(db: Session, platform_id: str, instance_id: str) -> list[TimerView]:
    rows = db.scalars(
        select(Timer)
        .where(Timer.platform_id == platform_id, Timer.instance_id == instance_id)
        .order_by(Timer.id)
    )
    return [
        TimerView(
            id=r.id,
            transition=r.transition,
            due_at=r.due_at,
            status=r.status,
            attempts=r.attempts,
            next_attempt_at=r.next_attempt_at,
            last_error=r.last_error,
            note=r.note,
            done_at=r.done_at,
        )
        for r in rows
    ]


def export_data(
    db: Session, *, platform_id: str, user_id: str, registry: ProcessRegistry = REGISTRY
) -> list[dict[str, Any]]:
    """The process instances a user is the subject or a party of (COMMON-PRIVACY-1): parties are the
    data fields the registered definitions name (`parties`)."""
    party_fields = sorted(
        {
            f
            for name in registry.names()
            for v in registry.versions(name)
            for _r, f in registry.get(name, v).parties
        }
    )
    matches = [(ProcessInstance.subject_type == "user") & (ProcessInstance.subject_id == user_id)]
    matches += [ProcessInstance.data[f].as_string() == user_id for f in party_fields]
    rows = db.scalars(
        select(ProcessInstance)
        .where(ProcessInstance.platform_id == platform_id, or_(*matches))
        .order_by(ProcessInstance.created_at, ProcessInstance.id)
    )
    return [
        {
            "id": r.id,
            "process": r.process,
            "version": r.process_version,
            "state": r.state,
            "data": dict(r.data),
            "subject": [r.subject_type, r.subject_id] if r.subject_type else None,
            "created_at": r.created_at.isoformat(),
            "updated_at": r.updated_at.isoformat(),
        }
        for r in rows
    ]
