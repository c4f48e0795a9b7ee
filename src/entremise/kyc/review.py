"""The 48-hour review deadline of a KYC document (EXPERT-WALLET-1), tracked by a timer: the
`kyc-review-deadline` process.

Each document waiting for staff has one instance, started on upload with a `lapse` timer at its
due time. If the document still waits when it fires, it is flagged overdue (listed first in the
staff queue, `?overdue=true`), the lateness is audited with the rule ID, and the provider is told
the review is late. Deciding the document takes `stop`.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from entremise.audit.service import Actor, record
from entremise.booking import service as processes
from entremise.booking.process import ProcessDefinition, TimerSpec, Transition
from entremise.booking.registry import REGISTRY
from entremise.booking.service import ActionContext, ProcessActor
from entremise.kernel.errors import Conflict
from entremise.kyc import domain, notices
from entremise.kyc.models import KycDocument

PROCESS = "kyc-review-deadline"


@REGISTRY.action("kyc.review_lapse")
def lapse(ctx: ActionContext) -> None:
    doc = ctx.db.scalar(
        select(KycDocument)
        .where(KycDocument.platform_id == ctx.platform_id, KycDocument.id == ctx.data["document_id"])
        .with_for_update()
    )
    if doc is None or doc.state != domain.PENDING:
        ctx.audit_data["skipped"] = "the document was already decided"
        return
    doc.overdue = True
    record(
        ctx.db,
        platform_id=ctx.platform_id,
        actor=Actor.system(),
        action="kyc.review.overdue",
        obj=("kyc_document", doc.id),
        at=ctx.now,
        reason=f"not reviewed within the deadline ({doc.review_due_at.isoformat()})",
        rules=(domain.RULE_KYC,),
        data={"user_id": doc.user_id, "type": doc.type},
    )
    notices.tell(
        ctx.db,
        ctx.platform_id,
        doc.user_id,
        "kyc.review_late",
        {"type": doc.type},
        ctx.now,
        f"kyc-late:{doc.id}",
    )


DEFINITION = REGISTRY.register(
    ProcessDefinition(
        name=PROCESS,
        version=1,
        states=("watching", "lapsed", "stopped"),
        initial="watching",
        final=("lapsed", "stopped"),
        transitions=(
            Transition("lapse", ("watching",), "lapsed", ("system",), actions=("kyc.review_lapse",)),
            Transition("stop", ("watching",), "stopped", ("system",)),
        ),
        initial_timers=(TimerSpec.at("lapse", "due_at"),),
    )
)


def start_watch(db: Session, *, platform_id: str, document_id: str, due_at: datetime, now: datetime) -> str:
    view = processes.start(
        db,
        platform_id,
        PROCESS,
        ProcessActor.system(),
        {"document_id": document_id, "due_at": due_at.isoformat()},
        now,
        subject=("kyc_document", document_id),
    )
    return view.id


def stop_watch(db: Session, *, platform_id: str, watch_id: str | None, now: datetime) -> None:
    if watch_id is None or processes.get_instance(db, platform_id, watch_id).final:
        return
    try:
        processes.take(db, platform_id, watch_id, "stop", ProcessActor.system(), now)
    except Conflict as exc:
        if exc.extra.get("state") == "watching":
            raise
