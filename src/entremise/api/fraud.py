"""Fraud cases over HTTP, for staff: the cases and their evidence, a decision (dismiss or confirm,
with reasons), incidents and verifications reported by hand, and a scan of the platform.

Everything here is staff-only: a member never sees cases or signals (403)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, Text
from entremise.fraud import service

router = APIRouter(prefix="/api/v1/platforms/{platform}/staff", tags=["fraud"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
UserRef = Annotated[Text, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


class SignalOut(BaseModel):
    id: str
    kind: str
    user_ids: list[str]
    rules: list[str]
    evidence: dict[str, Any]
    source: str
    at: datetime


class CaseOut(BaseModel):
    id: str
    status: str = Field(description="open, dismissed or confirmed")
    user_ids: list[str]
    rules: list[str]
    opened_at: datetime
    updated_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    decision_reason: str | None
    signals: list[SignalOut] = Field(description="the evidence (empty in lists)")

    @staticmethod
    def of(v: service.CaseView) -> CaseOut:
        return CaseOut(
            id=v.id,
            status=v.status,
            user_ids=v.user_ids,
            rules=v.rules,
            opened_at=v.opened_at,
            updated_at=v.updated_at,
            decided_at=v.decided_at,
            decided_by=v.decided_by,
            decision_reason=v.decision_reason,
            signals=[SignalOut(**s.__dict__) for s in v.signals],
        )


class DecisionIn(ApiModel):
    decision: Literal["dismiss", "confirm"]
    reason: Annotated[Text, Field(min_length=1, max_length=5000)]


class IncidentIn(ApiModel):
    user_id: UserRef
    kind: Literal["chargeback", "refund_abuse", "unpaid_debt"]
    reference: Annotated[Text, Field(min_length=1, max_length=200)]


class VerificationIn(ApiModel):
    user_id: UserRef
    kind: Annotated[Text, Field(min_length=1, max_length=40)]
    passed: bool
    reference: Annotated[Text, Field(min_length=1, max_length=200)]


class RaisedOut(BaseModel):
    case_ids: list[str]


class ScanOut(BaseModel):
    signals_raised: int


@router.get("/fraud-cases", response_model=Page[CaseOut], summary="Fraud cases (open ones by default)")
def list_cases(
    principal: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    status: Annotated[Literal["open", "dismissed", "confirmed"] | None, Query()] = "open",
) -> Page[CaseOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_cases(
            db, platform_id=platform.id, status=status, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda c: c.id, shape=CaseOut.of)


@router.get("/fraud-cases/{case_id}", response_model=CaseOut, summary="A fraud case with its evidence")
def get_case(case_id: Id, principal: StaffPrincipal, platform: CurrentPlatform, db: Db) -> CaseOut:
    with db.begin():
        return CaseOut.of(service.get_case(db, platform_id=platform.id, case_id=case_id))


@router.post("/fraud-cases/{case_id}/decision", response_model=CaseOut, summary="Dismiss or confirm a case")
def decide(
    case_id: Id, body: DecisionIn, principal: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> CaseOut:
    with db.begin():
        view = service.decide(
            db,
            platform_id=platform.id,
            case_id=case_id,
            staff_id=principal.user_id,
            decision=body.decision,
            reason=body.reason,
            now=now,
        )
    return CaseOut.of(view)


@router.post("/fraud-incidents", status_code=201, response_model=RaisedOut, summary="Report an incident")
def report_incident(
    body: IncidentIn, principal: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RaisedOut:
    with db.begin():
        cases = service.report_incident(
            db, platform=platform, user_id=body.user_id, kind=body.kind, reference=body.reference, now=now
        )
    return RaisedOut(case_ids=cases)


@router.post(
    "/fraud-verifications", status_code=201, response_model=RaisedOut, summary="Record a verification"
)
def record_verification(
    body: VerificationIn, principal: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RaisedOut:
    with db.begin():
        cases = service.record_verification(
            db,
            platform=platform,
            user_id=body.user_id,
            kind=body.kind,
            passed=body.passed,
            reference=body.reference,
            now=now,
        )
    return RaisedOut(case_ids=cases)


@router.post("/fraud-scan", response_model=ScanOut, summary="Scan this platform for fraud signals now")
def scan(principal: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now) -> ScanOut:
    with db.begin():
        return ScanOut(signals_raised=service.scan(db, platform=platform, now=now))
