"""Notices and moderation over HTTP (docs/moderation.md).

- Public: the notice form's description and the notice itself (anyone, no session, with abuse
  limits), and a complaint through the link of an e-mail (the notifier, or a suspended author).
- Users: the statements of reasons sent to me, and contesting one.
- Staff: the queue, decisions, complaints. Another platform's staff see nothing of this one (404).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, Meta, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, Text
from entremise.moderation import service

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["moderation"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
Short = Annotated[Text, Field(max_length=200)]
Long = Annotated[Text, Field(max_length=10_000)]


class NoticeIn(ApiModel):
    """LAW-DSA-16 and COMMON-NOTICE-1. Every field is checked by the service, which names each
    missing one; the LCEN identity fields depend on `notifier_type`."""

    kind: Annotated[Text, Field(max_length=40)] | None = None
    content_id: Annotated[Text, Field(max_length=64)] | None = None
    location: Annotated[Text, Field(max_length=2000)] | None = Field(
        default=None, description="the exact location (URL)"
    )
    explanation: Long | None = None
    legal_grounds: Long | None = None
    name: Short | None = None
    email: Annotated[Text, Field(max_length=320)] | None = None
    good_faith: bool | None = Field(
        default=None, description="the notice is accurate and complete, in good faith"
    )
    notifier_type: Literal["natural", "legal"] | None = None
    first_names: Short | None = None
    profession: Short | None = None
    domicile: Annotated[Text, Field(max_length=500)] | None = None
    nationality: Short | None = None
    birth_date: Annotated[Text, Field(max_length=10)] | None = None
    birth_place: Short | None = None
    legal_form: Short | None = None
    registered_office: Annotated[Text, Field(max_length=500)] | None = None
    representative: Short | None = None
    author_letter: Long | None = Field(default=None, description="copy of the letter sent to the author")
    author_unreachable_reason: Long | None = None


class NoticeOut(BaseModel):
    id: str
    item_id: str
    kind: str
    content_id: str
    received_at: datetime
    warning: str
    rules: list[str]


class FormOut(BaseModel):
    kinds: list[str]
    required: list[str]
    natural_person: list[str]
    legal_person: list[str]
    warning: dict[str, str]
    rules: list[str]


@router.get(
    "/moderation/notice-form", response_model=FormOut, summary="What a notice must carry, and the warning"
)
def notice_form(platform: CurrentPlatform) -> FormOut:
    return FormOut(**service.notice_form(platform))


@router.post(
    "/moderation/notices", status_code=201, response_model=NoticeOut, summary="Notify content (anyone)"
)
def submit_notice(body: NoticeIn, platform: CurrentPlatform, db: Db, now: Now, meta: Meta) -> NoticeOut:
    with db.begin():
        notice, _token = service.submit_notice(
            db, platform=platform, fields=body.model_dump(exclude_none=True), ip=meta.ip, now=now
        )
    from entremise.moderation.domain import FALSE_NOTICE_WARNING, NOTICE_RULES

    return NoticeOut(
        id=notice.id,
        item_id=notice.item_id,
        kind=notice.kind,
        content_id=notice.content_id,
        received_at=notice.created_at,
        warning=FALSE_NOTICE_WARNING.get(platform.settings.locale, FALSE_NOTICE_WARNING["en"]),
        rules=list(NOTICE_RULES),
    )


class NoticeBrief(BaseModel):
    id: str
    name: str | None
    email: str | None
    details: dict[str, Any]
    outcome: str | None
    created_at: datetime


class ItemOut(BaseModel):
    id: str
    kind: str
    content_id: str
    author_id: str | None
    excerpt: str
    url: str | None
    source: str
    held: bool
    automated: bool = Field(description="flagged by automated means (disclosed in statements)")
    evidence: dict[str, Any]
    status: str
    decision: str | None
    facts: str | None
    ground_kind: str | None
    ground: str | None
    rules: list[str]
    decided_by: str | None
    decided_at: datetime | None
    created_at: datetime
    notices: list[NoticeBrief] | None

    @staticmethod
    def of(v: service.ItemView) -> ItemOut:
        data = {k: getattr(v, k) for k in ItemOut.model_fields if k != "notices"}
        notices = (
            [
                NoticeBrief(
                    id=n.id,
                    name=n.name,
                    email=n.email,
                    details=n.details,
                    outcome=n.outcome,
                    created_at=n.created_at,
                )
                for n in v.notices
            ]
            if v.notices is not None
            else None
        )
        return ItemOut(**data, notices=notices)


class DecisionIn(ApiModel):
    decision: Literal["remove", "restrict", "keep"]
    facts: Annotated[Text, Field(min_length=1, max_length=5000)]
    ground_kind: Literal["law", "terms"]
    ground: Annotated[Text, Field(min_length=1, max_length=2000)]
    rules: list[Annotated[Text, Field(max_length=40)]] = Field(min_length=1, max_length=20)


@router.get("/staff/moderation/items", response_model=Page[ItemOut], summary="The moderation queue (staff)")
def list_items(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    status: Annotated[Literal["pending", "decided", "reversed"] | None, Query()] = "pending",
) -> Page[ItemOut]:
    with db.begin():
        rows = service.list_items(
            db, platform_id=platform.id, status=status, after_id=page.position(str), limit=page.fetch
        )
    return paginate(rows, page, key=lambda r: r.id, shape=ItemOut.of)


@router.get(
    "/staff/moderation/items/{item_id}", response_model=ItemOut, summary="One item with its notices (staff)"
)
def get_item(item_id: Id, _staff: StaffPrincipal, platform: CurrentPlatform, db: Db) -> ItemOut:
    with db.begin():
        return ItemOut.of(service.get_item(db, platform_id=platform.id, item_id=item_id))


@router.post(
    "/staff/moderation/items/{item_id}/decision", response_model=ItemOut, summary="Decide an item (staff)"
)
def decide(
    item_id: Id,
    body: DecisionIn,
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
) -> ItemOut:
    with db.begin():
        v = service.decide(
            db,
            platform=platform,
            item_id=item_id,
            staff_id=staff.user_id,
            decision=body.decision,
            facts=body.facts,
            ground_kind=body.ground_kind,
            ground=body.ground,
            rules=list(body.rules),
            now=now,
            base_url=runtime.settings.base_url,
        )
    return ItemOut.of(v)


class StatementOut(BaseModel):
    id: str
    user_id: str
    source_kind: str
    source_id: str
    action: str
    facts: str
    automated_detection: bool
    automated_decision: bool
    ground_kind: str
    ground: str
    rules: list[str]
    redress: str
    contest_until: datetime
    created_at: datetime

    @staticmethod
    def of(v: service.StatementView) -> StatementOut:
        return StatementOut(**v.__dict__)


@router.get("/me/statements", response_model=Page[StatementOut], summary="Statements of reasons sent to me")
def my_statements(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[StatementOut]:
    with db.begin():
        rows = service.my_statements(
            db,
            platform_id=platform.id,
            user_id=principal.user_id,
            after_id=page.position(str),
            limit=page.fetch,
        )
    return paginate(rows, page, key=lambda r: r.id, shape=StatementOut.of)


@router.get(
    "/me/statements/{statement_id}",
    response_model=StatementOut,
    summary="One statement of reasons sent to me",
)
def my_statement(
    statement_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db
) -> StatementOut:
    with db.begin():
        return StatementOut.of(
            service.get_statement(
                db, platform_id=platform.id, statement_id=statement_id, user_id=principal.user_id
            )
        )


class ComplaintIn(ApiModel):
    text: Annotated[Text, Field(min_length=1, max_length=5000)]


class TokenComplaintIn(ApiModel):
    token: Annotated[Text, Field(min_length=10, max_length=100)]
    text: Annotated[Text, Field(min_length=1, max_length=5000)]


class ComplaintOut(BaseModel):
    id: str
    source_kind: str
    source_id: str
    statement_id: str | None
    notice_id: str | None
    complainant: str
    complainant_user_id: str | None
    text: str
    first_decider: str | None
    status: str
    answer: str | None
    answered_by: str | None
    answered_at: datetime | None
    created_at: datetime

    @staticmethod
    def of(v: service.ComplaintView) -> ComplaintOut:
        return ComplaintOut(**v.__dict__)


@router.post(
    "/me/statements/{statement_id}/complaints",
    status_code=201,
    response_model=ComplaintOut,
    summary="Contest a decision about me (LAW-DSA-20)",
)
def contest(
    statement_id: Id,
    body: ComplaintIn,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> ComplaintOut:
    with db.begin():
        v = service.contest_statement(
            db,
            platform=platform,
            statement_id=statement_id,
            user_id=principal.user_id,
            text=body.text,
            now=now,
        )
    return ComplaintOut.of(v)


@router.post(
    "/moderation/complaints",
    status_code=201,
    response_model=ComplaintOut,
    summary="Contest a decision with the link of an e-mail (no session)",
)
def contest_with_token(body: TokenComplaintIn, platform: CurrentPlatform, db: Db, now: Now) -> ComplaintOut:
    with db.begin():
        v = service.contest_with_token(db, platform=platform, token=body.token, text=body.text, now=now)
    return ComplaintOut.of(v)


@router.get(
    "/staff/moderation/complaints", response_model=Page[ComplaintOut], summary="Internal complaints (staff)"
)
def list_complaints(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    status: Annotated[Literal["open", "upheld", "reversed"] | None, Query()] = "open",
) -> Page[ComplaintOut]:
    with db.begin():
        rows = service.list_complaints(
            db, platform_id=platform.id, status=status, after_id=page.position(str), limit=page.fetch
        )
    return paginate(rows, page, key=lambda r: r.id, shape=ComplaintOut.of)


class ComplaintAnswerIn(ApiModel):
    outcome: Literal["upheld", "reversed"]
    reasons: Annotated[Text, Field(min_length=1, max_length=5000)]


@router.post(
    "/staff/moderation/complaints/{complaint_id}/answer",
    response_model=ComplaintOut,
    summary="Answer a complaint (another staff member)",
)
def answer_complaint(
    complaint_id: Id,
    body: ComplaintAnswerIn,
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    runtime: RuntimeDep,
) -> ComplaintOut:
    with db.begin():
        v = service.answer_complaint(
            db,
            platform=platform,
            complaint_id=complaint_id,
            staff_id=staff.user_id,
            outcome=body.outcome,
            reasons=body.reasons,
            now=now,
            base_url=runtime.settings.base_url,
        )
    return ComplaintOut.of(v)
