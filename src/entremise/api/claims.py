"""Claims over HTTP: kinds and mediation (public), filing and following one's claims, answering the
claims addressed to you, and staff's view (every claim, the overdue ones, escalation).

Who sees a claim: its claimant, the provider who must answer it, and staff. Anyone else gets 404,
on this platform as on another one, so a claim's existence is never revealed.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import AwareDatetime, BaseModel, Field, model_validator

from entremise.accounts.auth import CurrentPrincipal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.claims import mediation, service
from entremise.claims.domain import DECISIONS, Deadline
from entremise.claims.mediation import MediationInfo
from entremise.claims.settings import ClaimKind, Mediator, PeriodSettings
from entremise.kernel.errors import FieldError, InvalidInput
from entremise.kernel.money import Money, is_currency
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["claims"])

ClaimId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
UserId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
KindName = Annotated[Text, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_.-]{0,39}$")]


# --- shapes --------------------------------------------------------------------------------------


class PeriodOut(BaseModel):
    count: int
    unit: str
    from_end_of_day: bool
    extend_to_business_day: bool
    description: str

    @staticmethod
    def of(p: PeriodSettings) -> PeriodOut:
        return PeriodOut(
            count=p.count,
            unit=p.unit,
            from_end_of_day=p.from_end_of_day,
            extend_to_business_day=p.extend_to_business_day,
            description=p.period().describe(),
        )


class KindOut(BaseModel):
    kind: str
    label: str
    preset: str | None
    rules: list[str]
    subject: str = Field(description="registered: about a subject id; platform: about the platform itself")
    filing_window: PeriodOut | None = Field(description="null: no filing window")
    answer_within: PeriodOut
    respondent: str = Field(description="who must answer: provider or platform")
    required_fields: list[str]
    claimant_roles: list[str]
    refund_method: str | None
    resolution_required: bool
    available: bool = Field(description="false until a module registers this kind of subject")


class MediatorOut(BaseModel):
    name: str
    address: str
    website: str
    email: str | None


class MediationOut(BaseModel):
    seller: str = Field(description="whose mediator applies: the platform's or the provider's")
    mediator: MediatorOut | None = Field(description="null: none declared yet")
    odr_url: str | None = Field(description="the EU ODR platform link, null since it closed on 20 July 2025")

    @staticmethod
    def of(m: MediationInfo) -> MediationOut:
        mediator = (
            MediatorOut(
                name=m.mediator.name,
                address=m.mediator.address,
                website=m.mediator.website,
                email=m.mediator.email,
            )
            if m.mediator
            else None
        )
        return MediationOut(seller=m.seller, mediator=mediator, odr_url=m.odr_url)


class DeadlineOut(BaseModel):
    at: datetime = Field(description="the first instant past the period (on time: strictly before it)")
    local: datetime = Field(description="the same instant in the platform's time zone")
    timezone: str
    last_day: date | None = Field(description="the last local day of the period, when it ends at midnight")

    @staticmethod
    def of(d: Deadline) -> DeadlineOut:
        return DeadlineOut(at=d.at, local=d.local(), timezone=d.timezone, last_day=d.last_day)


class EvidenceOut(BaseModel):
    id: int
    kind: str
    text: str | None
    reference: str | None
    added_by: str
    added_as: str
    added_at: datetime


class AnswerOut(BaseModel):
    seq: int
    author_id: str
    author_as: str
    decision: str
    reasons: str
    remedy: str | None
    answered_at: datetime
    on_time: bool


class MoneyOut(BaseModel):
    amount: int = Field(description="minor units (cents)")
    currency: str


class RefundOut(BaseModel):
    amount: MoneyOut
    method: str
    status: str
    external_ref: str
    rules: list[str]
    created_at: datetime


class ClaimOut(BaseModel):
    id: str
    reference: str
    kind: str
    label: str
    rules: list[str]
    subject_id: str | None
    state: str
    claimant_id: str
    respondent: str
    respondent_id: str | None
    provider_id: str | None
    object: str | None
    comment: str | None
    name: str | None
    contact: str | None
    pseudonym: str | None
    occurred_at: datetime | None
    reference_at: datetime
    filing_deadline: DeadlineOut | None
    filed_at: datetime
    acknowledged_at: datetime | None
    answer_due: DeadlineOut
    overdue: bool
    answered_at: datetime | None
    decision: str | None
    escalated_at: datetime | None
    closed_at: datetime | None
    closed_by: str | None
    my_capacities: list[str] = Field(
        description="claimant, respondent, staff: what the caller is to this claim"
    )
    allowed_actions: list[str]
    evidence: list[EvidenceOut] | None = Field(description="null in lists")
    answers: list[AnswerOut] | None = Field(description="null in lists")
    refunds: list[RefundOut] | None = Field(description="null in lists")
    mediation: MediationOut | None = Field(description="null in lists")
    mediation_open: bool = Field(description="the claimant may now turn to the mediator")

    @staticmethod
    def of(v: service.ClaimView, *, detail: bool = True) -> ClaimOut:
        return ClaimOut(
            id=v.id,
            reference=v.reference,
            kind=v.kind,
            label=v.label,
            rules=list(v.rules),
            subject_id=v.subject_id,
            state=v.state,
            claimant_id=v.claimant_id,
            respondent=v.respondent,
            respondent_id=v.respondent_id,
            provider_id=v.provider_id,
            object=v.object,
            comment=v.comment,
            name=v.name,
            contact=v.contact,
            pseudonym=v.pseudonym,
            occurred_at=v.occurred_at,
            reference_at=v.reference_at,
            filing_deadline=DeadlineOut.of(v.filing_deadline) if v.filing_deadline else None,
            filed_at=v.filed_at,
            acknowledged_at=v.acknowledged_at,
            answer_due=DeadlineOut.of(v.answer_due),
            overdue=v.overdue,
            answered_at=v.answered_at,
            decision=v.decision,
            escalated_at=v.escalated_at,
            closed_at=v.closed_at,
            closed_by=v.closed_by,
            my_capacities=list(v.capacities),
            allowed_actions=list(v.allowed_actions),
            evidence=[EvidenceOut(**e.__dict__) for e in v.evidence] if detail else None,
            answers=[AnswerOut(**a.__dict__) for a in v.answers] if detail else None,
            refunds=[
                RefundOut(
                    amount=MoneyOut(amount=r.amount.amount, currency=r.amount.currency),
                    method=r.method,
                    status=r.status,
                    external_ref=r.external_ref,
                    rules=list(r.rules),
                    created_at=r.created_at,
                )
                for r in v.refunds
            ]
            if detail
            else None,
            mediation=MediationOut.of(v.mediation) if detail and v.mediation else None,
            mediation_open=v.mediation_open,
        )


def _summary(v: service.ClaimView) -> ClaimOut:
    return ClaimOut.of(v, detail=False)


class EvidenceIn(ApiModel):
    text: Annotated[Text, Field(min_length=1, max_length=5000)] | None = None
    reference: Annotated[Text, Field(min_length=1, max_length=500)] | None = Field(
        default=None, description="an identifier or address the evidence can be found at"
    )

    @model_validator(mode="after")
    def _something(self) -> EvidenceIn:
        if self.text is None and self.reference is None:
            raise ValueError("a piece of evidence has a text, a reference, or both")
        return self

    def item(self) -> service.EvidenceItem:
        return service.EvidenceItem(self.text, self.reference)


class ClaimIn(ApiModel):
    kind: KindName
    subject_id: Annotated[Text, Field(min_length=1, max_length=64)] | None = None
    object: Annotated[Text, Field(max_length=200)] | None = None
    comment: Annotated[Text, Field(max_length=10_000)] | None = None
    name: Annotated[Text, Field(max_length=200)] | None = None
    contact: Annotated[Text, Field(max_length=500)] | None = Field(
        default=None, description="contact details: e-mail, phone, postal address"
    )
    pseudonym: Annotated[Text, Field(max_length=100)] | None = None
    occurred_at: AwareDatetime | None = Field(
        default=None, description="when it happened (claims about the platform)"
    )
    evidence: list[EvidenceIn] = Field(default_factory=list, max_length=20)


class RefundIn(ApiModel):
    amount: Annotated[StrictInt, Field(ge=1, le=10**12)] = Field(description="minor units (cents)")
    currency: Annotated[Text, Field(pattern=r"^[A-Z]{3}$")] = "EUR"


class AnswerIn(ApiModel):
    decision: Literal["accepted", "partly_accepted", "refused"] = Field(description=", ".join(DECISIONS))
    reasons: Annotated[Text, Field(min_length=1, max_length=5000)]
    remedy: Annotated[Text, Field(min_length=1, max_length=5000)] | None = Field(
        default=None, description="how it is put right, besides any refund"
    )
    refund: RefundIn | None = None


class EvidenceAddIn(ApiModel):
    items: list[EvidenceIn] = Field(min_length=1, max_length=20)


class EscalationIn(ApiModel):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


class ClosureIn(ApiModel):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)] | None = None


class MediatorIn(ApiModel):
    name: Annotated[Text, Field(min_length=1, max_length=200)]
    address: Annotated[Text, Field(min_length=1, max_length=500)]
    website: Annotated[Text, Field(min_length=8, max_length=500, pattern=r"^https?://\S+$")]
    email: Annotated[Text, Field(min_length=3, max_length=254)] | None = None


# --- public: kinds and mediation -----------------------------------------------------------------


@router.get("/claim-kinds", response_model=list[KindOut], summary="The kinds of claims one can file here")
def claim_kinds(platform: CurrentPlatform) -> list[KindOut]:
    out = []
    for name, k, available in service.claim_kinds(platform):
        out.append(_kind_out(name, k, available))
    return out


def _kind_out(name: str, k: ClaimKind, available: bool) -> KindOut:
    return KindOut(
        kind=name,
        label=k.label,
        preset=k.preset,
        rules=list(k.rules),
        subject=k.subject,
        filing_window=PeriodOut.of(k.filing_window) if k.filing_window else None,
        answer_within=PeriodOut.of(k.answer_within),
        respondent=k.respondent,
        required_fields=list(k.required_fields),
        claimant_roles=list(k.claimant_roles),
        refund_method=k.refund_method,
        resolution_required=k.resolution_required,
        available=available,
    )


@router.get("/mediation", response_model=MediationOut, summary="The platform's consumer mediator")
def platform_mediation(platform: CurrentPlatform, db: Db, now: Now) -> MediationOut:
    with db.begin():
        return MediationOut.of(mediation.mediation_for(db, platform, None, now))


@router.get(
    "/providers/{provider_id}/mediator",
    response_model=MediationOut,
    summary="The mediator a provider's page shows (CONSULT-MEDIATION-1)",
)
def provider_mediator(provider_id: UserId, platform: CurrentPlatform, db: Db, now: Now) -> MediationOut:
    with db.begin():
        return MediationOut.of(mediation.provider_page_mediation(db, platform, provider_id, now))


@router.put("/me/mediator", response_model=MediationOut, summary="Declare my mediator (a provider who sells)")
def declare_mediator(
    body: MediatorIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> MediationOut:
    with db.begin():
        info = mediation.declare_provider_mediator(
            db,
            platform=platform,
            provider_id=principal.user_id,
            role=principal.role,
            mediator=Mediator(name=body.name, address=body.address, website=body.website, email=body.email),
            now=now,
        )
    return MediationOut.of(info)


# --- claimants and respondents -------------------------------------------------------------------


@router.post("/claims", status_code=201, response_model=ClaimOut, summary="File a claim")
def file_claim(
    body: ClaimIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> ClaimOut:
    data = service.FilingInput(
        kind=body.kind,
        subject_id=body.subject_id,
        object=body.object,
        comment=body.comment,
        name=body.name,
        contact=body.contact,
        pseudonym=body.pseudonym,
        occurred_at=body.occurred_at,
        evidence=[e.item() for e in body.evidence],
    )
    with db.begin():
        view = service.file_claim(
            db, platform=platform, claimant_id=principal.user_id, role=principal.role, data=data, now=now
        )
    return ClaimOut.of(view)


@router.get("/claims", response_model=Page[ClaimOut], summary="My claims, filed or to answer")
def my_claims(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    page: Pagination,
    as_: Annotated[
        Literal["claimant", "respondent"],
        Query(alias="as", description="claimant: the claims I filed; respondent: those I must answer"),
    ] = "claimant",
) -> Page[ClaimOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_claims(
            db,
            platform=platform,
            user_id=principal.user_id,
            role=principal.role,
            as_=as_,
            now=now,
            after_id=after,
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda v: v.id, shape=_summary)


@router.get(
    "/claims/{claim_id}", response_model=ClaimOut, summary="A claim I filed, must answer, or (staff) any"
)
def get_claim(
    claim_id: ClaimId, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> ClaimOut:
    with db.begin():
        view = service.get_claim(
            db, platform=platform, claim_id=claim_id, user_id=principal.user_id, role=principal.role, now=now
        )
    return ClaimOut.of(view)


@router.post(
    "/claims/{claim_id}/evidence", status_code=201, response_model=ClaimOut, summary="Add evidence to a claim"
)
def add_evidence(
    claim_id: ClaimId,
    body: EvidenceAddIn,
    principal: TermsAccepted,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> ClaimOut:
    with db.begin():
        view = service.add_evidence(
            db,
            platform=platform,
            claim_id=claim_id,
            user_id=principal.user_id,
            role=principal.role,
            items=[i.item() for i in body.items],
            now=now,
        )
    return ClaimOut.of(view)


@router.post("/claims/{claim_id}/answer", response_model=ClaimOut, summary="Answer a claim addressed to me")
def answer_claim(
    claim_id: ClaimId, body: AnswerIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> ClaimOut:
    refund = None
    if body.refund is not None:
        if not is_currency(body.refund.currency):
            raise InvalidInput([FieldError("body.refund.currency", "not a supported currency")])
        refund = Money(body.refund.amount, body.refund.currency)
    with db.begin():
        view = service.answer(
            db,
            platform=platform,
            claim_id=claim_id,
            user_id=principal.user_id,
            role=principal.role,
            decision=body.decision,
            reasons=body.reasons,
            remedy=body.remedy,
            refund=refund,
            now=now,
        )
    return ClaimOut.of(view)


@router.post(
    "/claims/{claim_id}/closure",
    response_model=ClaimOut,
    summary="Close a claim (claimant; staff once answered)",
)
def close_claim(
    claim_id: ClaimId, body: ClosureIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> ClaimOut:
    with db.begin():
        view = service.close(
            db,
            platform=platform,
            claim_id=claim_id,
            user_id=principal.user_id,
            role=principal.role,
            reason=body.reason,
            now=now,
        )
    return ClaimOut.of(view)


# --- staff ---------------------------------------------------------------------------------------


@router.get(
    "/staff/claims",
    response_model=Page[ClaimOut],
    summary="Every claim (staff), the overdue ones with overdue=true",
)
def staff_claims(
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    page: Pagination,
    state: Annotated[
        Literal["filed", "acknowledged", "answered", "escalated", "closed"] | None,
        Query(description="filter by state"),
    ] = None,
    kind: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z][a-z0-9_.-]{0,39}$")] = None,
    overdue: Annotated[bool | None, Query(description="true: awaiting an answer past the deadline")] = None,
) -> Page[ClaimOut]:
    after = page.position(str)
    with db.begin():
        rows = service.list_for_staff(
            db,
            platform=platform,
            now=now,
            state=state,
            kind=kind,
            overdue=overdue,
            after_id=after,
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda v: v.id, shape=_summary)


@router.post(
    "/staff/claims/{claim_id}/escalation", response_model=ClaimOut, summary="Take a claim over (staff)"
)
def escalate_claim(
    claim_id: ClaimId, body: EscalationIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> ClaimOut:
    with db.begin():
        view = service.escalate(
            db,
            platform=platform,
            claim_id=claim_id,
            user_id=staff.user_id,
            role=staff.role,
            reason=body.reason,
            now=now,
        )
    return ClaimOut.of(view)
