"""Process instances over HTTP: read one, and take a transition on it.

Instances are started by the module that owns their subject (a booking, an order, a trip); this
router is how the parties and staff move them along. Who may see an instance: staff (as the
`operator` role), and the users the process definition ties to it (its `parties`, e.g. the client
and the provider of a booking). Anyone else gets 404, so the existence of an instance is not
revealed. An illegal transition answers 409 (wrong state, guard refusal), 403 (this role may not
take it) or 422 (no such transition), each with `allowed_transitions`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Principal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.schemas import ApiModel, StrictInt
from entremise.booking import service
from entremise.booking.registry import REGISTRY
from entremise.booking.service import InstanceView, ProcessActor
from entremise.kernel.errors import NotFound
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["processes"])

InstanceId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
TransitionName = Annotated[str, Path(min_length=1, max_length=60, pattern=r"^[a-z][a-z0-9_.-]{0,59}$")]


def actor_of(principal: Principal) -> ProcessActor:
    """Staff act as the process's `operator`; other users in their own role."""
    return ProcessActor("operator" if principal.is_staff else principal.role, principal.user_id)


def _visible(view: InstanceView, principal: Principal) -> bool:
    if principal.is_staff:
        return True
    definition = REGISTRY.get(view.process, view.version)
    return any(view.data.get(data_field) == principal.user_id for _role, data_field in definition.parties)


class TimerOut(BaseModel):
    transition: str
    due_at: datetime
    status: str


class InstanceOut(BaseModel):
    id: str
    process: str
    version: int
    state: str
    final: bool
    row_version: int = Field(description="send it back as expected_row_version to act only on this state")
    subject: dict[str, str] | None
    data: dict[str, Any]
    allowed_transitions: list[str] = Field(description="what the caller's role may take from this state")
    timers: list[TimerOut]
    created_at: datetime
    updated_at: datetime


class TransitionIn(ApiModel):
    params: dict[str, Any] = Field(default_factory=dict, max_length=50)
    expected_row_version: Annotated[StrictInt, Field(ge=1, le=2**31)] | None = None


class TransitionOut(BaseModel):
    instance: InstanceOut
    rules: list[str]
    reason: str


def _out(db: Db, view: InstanceView, principal: Principal) -> InstanceOut:
    actor = actor_of(principal)
    timers = [
        TimerOut(transition=t.transition, due_at=t.due_at, status=t.status)
        for t in service.list_timers(db, view.platform_id, view.id)
        if t.status in service.LIVE_TIMER
    ]
    allowed = (
        [] if view.final else list(REGISTRY.get(view.process, view.version).available(view.state, actor.role))
    )
    return InstanceOut(
        id=view.id,
        process=view.process,
        version=view.version,
        state=view.state,
        final=view.final,
        row_version=view.row_version,
        subject={"type": view.subject[0], "id": view.subject[1]} if view.subject else None,
        data=view.data,
        allowed_transitions=allowed,
        timers=timers,
        created_at=view.created_at,
        updated_at=view.updated_at,
    )


def _visible_instance(db: Db, platform_id: str, instance_id: str, principal: Principal) -> InstanceView:
    view = service.get_instance(db, platform_id, instance_id)
    if not _visible(view, principal):
        raise NotFound(f"no process instance {instance_id!r}")
    return view


@router.get(
    "/processes/{instance_id}", response_model=InstanceOut, summary="A process instance I take part in"
)
def get_instance(
    instance_id: InstanceId, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db
) -> InstanceOut:
    with db.begin():
        return _out(db, _visible_instance(db, platform.id, instance_id, principal), principal)


@router.post(
    "/processes/{instance_id}/transitions/{transition}",
    response_model=TransitionOut,
    summary="Take a transition (409 with the allowed ones when it cannot be taken now)",
)
def take_transition(
    instance_id: InstanceId,
    transition: TransitionName,
    body: TransitionIn,
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> TransitionOut:
    with db.begin():
        _visible_instance(db, platform.id, instance_id, principal)
        result = service.take(
            db,
            platform.id,
            instance_id,
            transition,
            actor_of(principal),
            now,
            body.params,
            expected_row_version=body.expected_row_version,
        )
        return TransitionOut(
            instance=_out(db, result.instance, principal),
            rules=list(result.verdict.rules),
            reason=result.verdict.reason,
        )
