"""Reviews over HTTP: write and edit one's review of a transaction, read the published reviews and
the aggregates about a user or an offer (anyone, newest first), one's own reviews, and staff's
decisions on reviews the content filter held.

A review not yet published (held, double-blind) is visible to its author and staff only; anyone
else gets 404, on this platform as on another one.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query
from pydantic import BaseModel, Field

from entremise.accounts.auth import CurrentPrincipal, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.kernel.errors import FieldError, InvalidInput
from entremise.reviews import service
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["reviews"])

Id = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
KindName = Annotated[Text, Field(min_length=1, max_length=40, pattern=r"^[a-z][a-z0-9_.-]{0,39}$")]


class ReviewOut(BaseModel):
    id: str
    subject_kind: str
    transaction_id: str
    author_id: str
    author_role: str
    reviewee_id: str
    offer_id: str | None
    rating: int
    text: str | None
    status: str = Field(
        description="held (a person must look), blind (double-blind), published, restricted, removed"
    )
    rules: list[str]
    automated_flag: bool = Field(
        description="the content filter (automated means) flagged the text for human review"
    )
    created_at: datetime
    published_at: datetime | None = Field(description="when it was published (CONSULT-REVIEW-2)")
    updated_at: datetime = Field(description="its last change (CONSULT-REVIEW-2)")
    editable_until: datetime | None = Field(description="null: no time limit")
    blind_until: datetime | None = Field(description="double-blind: published at the latest then")

    @staticmethod
    def of(v: service.ReviewView) -> ReviewOut:
        return ReviewOut(
            id=v.id,
            subject_kind=v.subject_kind,
            transaction_id=v.transaction_id,
            author_id=v.author_id,
            author_role=v.author_role,
            reviewee_id=v.reviewee_id,
            offer_id=v.offer_id,
            rating=v.rating,
            text=v.text,
            status=v.status,
            rules=v.rules,
            automated_flag=v.automated_flag,
            created_at=v.created_at,
            published_at=v.published_at,
            updated_at=v.updated_at,
            editable_until=v.window_ends_at,
            blind_until=v.blind_until,
        )


class AggregateOut(BaseModel):
    about: str
    id: str
    count: int
    average: Decimal | None = Field(description="to two decimals; null without ratings")
    total: int = Field(description="the sum of the ratings (average = total / count, exactly)")
    distribution: dict[str, int] = Field(description="how many ratings of 1, 2, 3, 4 and 5")

    @staticmethod
    def of(a: service.AggregateView) -> AggregateOut:
        return AggregateOut(
            about=a.about_kind,
            id=a.about_id,
            count=a.count,
            average=a.average,
            total=a.total,
            distribution={str(k): v for k, v in sorted(a.distribution.items())},
        )


class ReviewListOut(Page[ReviewOut]):
    aggregate: AggregateOut


class ReviewIn(ApiModel):
    subject_kind: KindName = Field(description="the kind of transaction: djob, appointment...")
    transaction_id: Annotated[Text, Field(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")]
    rating: Annotated[StrictInt, Field(ge=1, le=5)]
    text: Annotated[Text, Field(max_length=50_000)] | None = None


class ReviewEditIn(ApiModel):
    rating: Annotated[StrictInt, Field(ge=1, le=5)] | None = None
    text: Annotated[Text, Field(max_length=50_000)] | None = None


class DecisionIn(ApiModel):
    action: Literal["publish", "remove", "restrict", "restore"]
    reason: Annotated[Text, Field(min_length=1, max_length=5000)]


def _after(page: Pagination) -> tuple[datetime, str] | None:
    pos = page.position(list)
    if pos is None:
        return None
    try:
        at, rid = pos
        return datetime.fromisoformat(str(at)), str(rid)
    except (ValueError, TypeError) as exc:
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")]) from exc


def _key(attr: str):  # type: ignore[no-untyped-def]
    def key(r: ReviewOut) -> list[str]:
        value = getattr(r, attr)
        return [value.isoformat() if value else "", r.id]

    return key


@router.get("/review-kinds", response_model=list[str], summary="The kinds of transactions one can review")
def review_kinds(platform: CurrentPlatform) -> list[str]:
    return service.subject_kinds()


@router.post("/reviews", status_code=201, response_model=ReviewOut, summary="Review a completed transaction")
def create_review(
    body: ReviewIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> ReviewOut:
    with db.begin():
        view = service.create_review(
            db,
            platform=platform,
            author_id=principal.user_id,
            subject_kind=body.subject_kind,
            transaction_id=body.transaction_id,
            rating=body.rating,
            text=body.text,
            now=now,
        )
    return ReviewOut.of(view)


@router.patch(
    "/reviews/{review_id}", response_model=ReviewOut, summary="Change my review (its last change is shown)"
)
def edit_review(
    review_id: Id, body: ReviewEditIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now
) -> ReviewOut:
    if body.rating is None and "text" not in body.model_fields_set:
        raise InvalidInput([FieldError("body", "give a new rating, a new text, or both")])
    with db.begin():
        view = service.edit_review(
            db,
            platform=platform,
            author_id=principal.user_id,
            review_id=review_id,
            rating=body.rating,
            text=body.text,
            text_given="text" in body.model_fields_set,
            now=now,
        )
    return ReviewOut.of(view)


@router.get("/reviews", response_model=ReviewListOut, summary="Published reviews about a user or an offer")
def list_reviews(
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    about: Annotated[Literal["user", "offer"], Query(description="what the reviews are about")],
    id: Annotated[str, Query(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")],
    sort: Annotated[Literal["newest", "oldest"], Query(description="newest first by default")] = "newest",
    rating: Annotated[int | None, Query(ge=1, le=5)] = None,
) -> ReviewListOut:
    after = _after(page)
    with db.begin():
        rows = service.list_reviews(
            db,
            platform_id=platform.id,
            about_kind=about,
            about_id=id,
            sort=sort,
            rating=rating,
            after=after,
            limit=page.fetch,
        )
        agg = service.aggregate(db, platform_id=platform.id, about_kind=about, about_id=id)
    p = paginate([ReviewOut.of(r) for r in rows], page, key=_key("published_at"), shape=lambda r: r)
    return ReviewListOut(items=p.items, next_cursor=p.next_cursor, aggregate=AggregateOut.of(agg))


@router.get("/review-aggregates", response_model=AggregateOut, summary="Average, count and distribution")
def get_aggregate(
    platform: CurrentPlatform,
    db: Db,
    about: Annotated[Literal["user", "offer"], Query()],
    id: Annotated[str, Query(min_length=1, max_length=36, pattern=r"^[0-9a-f-]{1,36}$")],
) -> AggregateOut:
    with db.begin():
        return AggregateOut.of(service.aggregate(db, platform_id=platform.id, about_kind=about, about_id=id))


@router.get(
    "/me/reviews", response_model=Page[ReviewOut], summary="The reviews I wrote, whatever their status"
)
def my_reviews(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, page: Pagination
) -> Page[ReviewOut]:
    after = _after(page)
    with db.begin():
        rows = service.my_reviews(
            db, platform_id=platform.id, author_id=principal.user_id, after=after, limit=page.fetch
        )
    return paginate([ReviewOut.of(r) for r in rows], page, key=_key("created_at"), shape=lambda r: r)


@router.get("/reviews/{review_id}", response_model=ReviewOut, summary="One review")
def get_review(review_id: Id, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> ReviewOut:
    with db.begin():
        view = service.get_review(
            db,
            platform_id=platform.id,
            review_id=review_id,
            viewer_id=principal.user_id,
            is_staff=principal.is_staff,
        )
    return ReviewOut.of(view)


@router.get("/staff/reviews", response_model=Page[ReviewOut], summary="Staff: reviews by status (held first)")
def staff_reviews(
    principal: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    page: Pagination,
    status: Annotated[Literal["held", "blind", "published", "restricted", "removed"], Query()] = "held",
) -> Page[ReviewOut]:
    after = _after(page)
    with db.begin():
        rows = service.held_reviews(db, platform_id=platform.id, status=status, after=after, limit=page.fetch)
    return paginate([ReviewOut.of(r) for r in rows], page, key=_key("created_at"), shape=lambda r: r)


@router.post(
    "/staff/reviews/{review_id}/decision",
    response_model=ReviewOut,
    summary="Staff: publish, remove, restrict, restore",
)
def staff_decision(
    review_id: Id, body: DecisionIn, principal: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> ReviewOut:
    with db.begin():
        view = service.staff_decide(
            db,
            platform=platform,
            staff_id=principal.user_id,
            review_id=review_id,
            action=body.action,
            reason=body.reason,
            now=now,
        )
    return ReviewOut.of(view)
