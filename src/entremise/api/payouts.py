"""KYC and payouts over HTTP.

Provider routes (`/kyc...`, `/payouts...`) act on the caller's own data only; staff routes
(`/staff/kyc...`) on their platform's. Another provider's document or payout, or another
platform's, answers 404.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Principal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.files import service as files
from entremise.kernel.errors import Forbidden
from entremise.kernel.money import Money
from entremise.kyc import service as kyc
from entremise.kyc.psp import provider_for
from entremise.payouts import service as payouts

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["payouts"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]


def _provider_only(principal: Principal) -> None:
    if principal.role != "provider":
        raise Forbidden("only providers have KYC documents and payouts", rules=("EXPERT-WALLET-1",))


# --- shapes --------------------------------------------------------------------------------------


class BankAccountOut(BaseModel):
    id: str
    iban: str = Field(description="masked: country, check digits and the last four characters")
    bic: str | None
    country: str
    holder_name: str
    created_at: datetime

    @staticmethod
    def of(v: kyc.BankAccountView) -> BankAccountOut:
        return BankAccountOut(
            id=v.id,
            iban=v.iban_masked,
            bic=v.bic,
            country=v.country,
            holder_name=v.holder_name,
            created_at=v.created_at,
        )


class DocumentOut(BaseModel):
    id: str
    user_id: str
    type: str
    file_id: str
    issued_on: date | None
    state: str = Field(description="pending_review, submitted, validated, refused or superseded")
    submitted_at: datetime
    review_due_at: datetime
    overdue: bool
    decided_at: datetime | None
    reason: str | None
    outcome_at: datetime | None

    @staticmethod
    def of(v: kyc.DocumentView) -> DocumentOut:
        return DocumentOut(**v.__dict__)


class KycOut(BaseModel):
    user_id: str
    legal_form: str
    company_name: str | None
    required: list[str]
    validated: bool
    reason: str
    rules: list[str]
    bank_account: BankAccountOut | None
    documents: list[DocumentOut]

    @staticmethod
    def of(v: kyc.KycStatusView) -> KycOut:
        return KycOut(
            user_id=v.user_id,
            legal_form=v.legal_form,
            company_name=v.company_name,
            required=list(v.required),
            validated=v.validated,
            reason=v.reason,
            rules=list(v.rules),
            bank_account=BankAccountOut.of(v.bank_account) if v.bank_account else None,
            documents=[DocumentOut.of(d) for d in v.documents],
        )


class ProfileIn(ApiModel):
    legal_form: Annotated[Text, Field(min_length=1, max_length=16)]
    company_name: Annotated[Text, Field(max_length=200)] | None = None


class BankAccountIn(ApiModel):
    iban: Annotated[Text, Field(min_length=1, max_length=50)]
    bic: Annotated[Text, Field(max_length=20)] | None = None
    holder_name: Annotated[Text, Field(min_length=1, max_length=140)]


class DocumentIn(ApiModel):
    type: Annotated[Text, Field(min_length=1, max_length=40)]
    file_id: Annotated[Text, Field(min_length=1, max_length=36)]
    issued_on: date | None = Field(default=None, description="the issue date the document states")


class RefuseIn(ApiModel):
    reason: Annotated[Text, Field(min_length=1, max_length=500)]


class PayoutIn(ApiModel):
    request_id: Annotated[
        Text,
        Field(
            min_length=1, max_length=120, description="the client's id for this request: a retry reuses it"
        ),
    ]
    amount: StrictInt | None = Field(default=None, description="cents; absent: all the wallet holds")


class MoneyOut(BaseModel):
    amount: int
    currency: str


class PayoutOut(BaseModel):
    id: str
    user_id: str
    amount: MoneyOut
    state: str = Field(description="requested, in_transit, paid or bounced")
    trigger: str
    rules: list[str]
    iban: str
    failure_reason: str | None
    requested_at: datetime
    settled_at: datetime | None
    replayed: bool

    @staticmethod
    def of(v: payouts.PayoutView) -> PayoutOut:
        return PayoutOut(
            id=v.id,
            user_id=v.user_id,
            amount=MoneyOut(amount=v.amount.amount, currency=v.amount.currency),
            state=v.state,
            trigger=v.trigger,
            rules=list(v.rules),
            iban=v.iban_masked,
            failure_reason=v.failure_reason,
            requested_at=v.requested_at,
            settled_at=v.settled_at,
            replayed=v.replayed,
        )


class StatementOut(BaseModel):
    user_id: str
    period: str
    payouts: list[PayoutOut]
    requested: MoneyOut
    paid: MoneyOut
    bounced: MoneyOut
    in_transit: MoneyOut
    wallet_balance: MoneyOut


def _money(m: Money) -> MoneyOut:
    return MoneyOut(amount=m.amount, currency=m.currency)


# --- provider ------------------------------------------------------------------------------------


@router.get("/kyc", response_model=KycOut, summary="My KYC: what is required, what is validated")
def my_kyc(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> KycOut:
    _provider_only(principal)
    with db.begin():
        return KycOut.of(kyc.status(db, platform=platform, user_id=principal.user_id))


@router.put("/kyc/profile", response_model=KycOut, summary="Say whether I am an individual or a company")
def set_profile(
    body: ProfileIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> KycOut:
    _provider_only(principal)
    with db.begin():
        view = kyc.set_profile(
            db,
            platform=platform,
            user_id=principal.user_id,
            legal_form=body.legal_form,
            company_name=body.company_name,
            now=now,
        )
    return KycOut.of(view)


@router.put(
    "/kyc/bank-account",
    response_model=BankAccountOut,
    summary="Record the bank account I am paid to (a change must be validated again)",
)
def set_bank_account(
    body: BankAccountIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> BankAccountOut:
    _provider_only(principal)
    with db.begin():
        view = kyc.set_bank_account(
            db,
            platform=platform,
            user_id=principal.user_id,
            iban=body.iban,
            bic=body.bic,
            holder_name=body.holder_name,
            now=now,
        )
    return BankAccountOut.of(view)


@router.post(
    "/kyc/documents",
    status_code=201,
    response_model=DocumentOut,
    summary="Declare an uploaded file (purpose kyc_document) as a KYC document",
)
def submit_document(
    body: DocumentIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> DocumentOut:
    _provider_only(principal)
    with db.begin():
        view = kyc.submit_document(
            db,
            platform=platform,
            user_id=principal.user_id,
            document_type=body.type,
            file_id=body.file_id,
            issued_on=body.issued_on,
            now=now,
        )
    return DocumentOut.of(view)


@router.get("/kyc/documents/{document_id}", response_model=DocumentOut, summary="One of my KYC documents")
def get_document(
    document_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db
) -> DocumentOut:
    with db.begin():
        view = kyc.get_document(
            db,
            platform_id=platform.id,
            document_id=document_id,
            user_id=principal.user_id,
            is_staff=principal.is_staff,
        )
    return DocumentOut.of(view)


@router.post(
    "/payouts", status_code=201, response_model=PayoutOut, summary="Ask for a payout to my bank account"
)
def request_payout(
    body: PayoutIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> PayoutOut:
    _provider_only(principal)
    with db.begin():
        view = payouts.request_payout(
            db,
            provider_for(db, platform.id, now),
            platform=platform,
            user_id=principal.user_id,
            amount=body.amount,
            request_key=body.request_id,
            now=now,
        )
    return PayoutOut.of(view)


@router.get("/payouts", response_model=Page[PayoutOut], summary="My payouts, the newest first")
def list_payouts(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[PayoutOut]:
    _provider_only(principal)
    after = page.position(str)
    with db.begin():
        rows = payouts.list_payouts(
            db, platform_id=platform.id, user_id=principal.user_id, after_id=after, limit=page.fetch
        )
    return paginate(rows, page, key=lambda v: v.id, shape=PayoutOut.of)


@router.get("/payouts/statement", response_model=StatementOut, summary="My payout statement for one month")
def statement(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    period: Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM")],
) -> StatementOut:
    _provider_only(principal)
    with db.begin():
        s = payouts.statement(db, platform=platform, user_id=principal.user_id, period=period, now=now)
    return StatementOut(
        user_id=s.user_id,
        period=s.period,
        payouts=[PayoutOut.of(p) for p in s.payouts],
        requested=_money(s.requested),
        paid=_money(s.paid),
        bounced=_money(s.bounced),
        in_transit=_money(s.in_transit),
        wallet_balance=_money(s.wallet_balance),
    )


@router.get("/payouts/{payout_id}", response_model=PayoutOut, summary="One of my payouts")
def get_payout(payout_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> PayoutOut:
    with db.begin():
        view = payouts.get_payout(
            db,
            platform_id=platform.id,
            payout_id=payout_id,
            user_id=principal.user_id,
            is_staff=principal.is_staff,
        )
    return PayoutOut.of(view)


# --- staff ---------------------------------------------------------------------------------------


@router.get(
    "/staff/kyc/reviews",
    response_model=list[DocumentOut],
    summary="KYC documents waiting for review, the nearest deadline first (overdue=true: late ones)",
)
def review_queue(
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    overdue: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[DocumentOut]:
    with db.begin():
        rows = kyc.review_queue(db, platform_id=platform.id, now=now, overdue_only=overdue, limit=limit)
    return [DocumentOut.of(d) for d in rows]


@router.get("/staff/kyc/users/{user_id}", response_model=KycOut, summary="A provider's KYC")
def user_kyc(user_id: Id, staff: StaffPrincipal, platform: CurrentPlatform, db: Db) -> KycOut:
    with db.begin():
        return KycOut.of(kyc.status(db, platform=platform, user_id=user_id))


@router.post(
    "/staff/kyc/documents/{document_id}/approve",
    response_model=DocumentOut,
    summary="Accept a document: it goes to the payment provider for validation",
)
def approve(
    document_id: Id, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep
) -> DocumentOut:
    with db.begin():
        view = kyc.approve(
            db,
            files.store_of(runtime.settings),
            provider_for(db, platform.id, now),
            platform=platform,
            document_id=document_id,
            staff_id=staff.user_id,
            now=now,
        )
    return DocumentOut.of(view)


@router.post(
    "/staff/kyc/documents/{document_id}/refuse",
    response_model=DocumentOut,
    summary="Refuse a document, saying why (the provider is told)",
)
def refuse(
    document_id: Id, body: RefuseIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> DocumentOut:
    with db.begin():
        view = kyc.refuse(
            db,
            platform=platform,
            document_id=document_id,
            staff_id=staff.user_id,
            reason=body.reason,
            now=now,
        )
    return DocumentOut.of(view)
