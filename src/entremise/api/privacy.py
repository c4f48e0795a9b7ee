"""Privacy API (docs/privacy.md): my export, my requests, my consents, my restrictions and objections,
my post-mortem directives, my profile rectification; the staff queue of requests with extension
and answer; and the public one-click unsubscribe (RFC 8058), which needs no session.

Privacy rights do not wait for new terms to be accepted: the user endpoints take `CurrentPrincipal`,
not the terms guard (like closure and password change).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import BaseModel, Field, StrictBool

from entremise.accounts import service as accounts
from entremise.accounts.auth import CurrentPrincipal, Meta, StaffPrincipal
from entremise.api.accounts import ProfileIn, UserOut, _out
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import Pagination, paginate
from entremise.api.schemas import ApiModel, Page, StrictInt, Text
from entremise.audit.service import Actor
from entremise.kernel.errors import FieldError, InvalidInput
from entremise.privacy import domain
from entremise.privacy import service as privacy
from entremise.privacy.unsubscribe_page import render_unsubscribe_page

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["privacy"])

Short = Annotated[Text, Field(max_length=200)]
UserId = Annotated[str, Path(min_length=1, max_length=36)]
RequestId = Annotated[str, Path(min_length=1, max_length=36)]
Kind = Literal["access", "rectification", "erasure", "restriction", "objection", "portability"]
Purpose = Literal["marketing", "profiling"]


# --- schemas -------------------------------------------------------------------------------------


class ConsentIn(ApiModel):
    granted: StrictBool


class ConsentOut(BaseModel):
    channel: str
    granted: bool
    updated_at: datetime | None


class ConsentEventOut(BaseModel):
    channel: str
    granted: bool
    at: datetime
    source: str
    ip: str | None
    user_agent: str | None


class ConsentsOut(BaseModel):
    consents: list[ConsentOut]
    history: list[ConsentEventOut]
    rules: list[str] = [domain.RULE_MARKETING]


class LimitOut(BaseModel):
    purpose: str
    basis: str
    active: bool
    since: datetime
    ended_at: datetime | None
    request_id: str | None


class RequestIn(ApiModel):
    kind: Kind
    details: Annotated[Text, Field(max_length=4000)] = ""
    purposes: Annotated[list[Purpose], Field(max_length=2, default_factory=list)]
    changes: Annotated[
        dict[Annotated[str, Field(max_length=40)], Short | None], Field(max_length=20, default_factory=dict)
    ]


class StaffRequestIn(RequestIn):
    user_id: Annotated[Text, Field(min_length=1, max_length=36)]
    received_on: date | None = None


class ExtensionIn(ApiModel):
    months: Annotated[StrictInt, Field(ge=1, le=2)] = 2
    reason: Annotated[Text, Field(min_length=10, max_length=2000)]


class AnswerIn(ApiModel):
    outcome: Literal["granted", "partially_granted", "refused"]
    message: Annotated[Text, Field(min_length=10, max_length=8000)]
    grounds: Annotated[
        list[Annotated[Text, Field(max_length=40)]], Field(max_length=10, default_factory=list)
    ]
    changes: (
        Annotated[dict[Annotated[str, Field(max_length=40)], Short | None], Field(max_length=20)] | None
    ) = None


class GroundOut(BaseModel):
    code: str
    article: str
    label: str


class RequestOut(BaseModel):
    id: str
    user_id: str
    kind: str
    status: str
    details: str
    purposes: list[str]
    changes: dict[str, Any]
    received_at: datetime
    received_via: str
    due_on: date
    first_due_on: date
    overdue: bool
    extended_at: datetime | None
    extension_reason: str | None
    answered_at: datetime | None
    outcome: str | None
    answer: str | None
    grounds: list[GroundOut]
    effects: dict[str, Any]
    user_notified: bool
    rules: list[str]

    @staticmethod
    def of(v: privacy.RequestView) -> RequestOut:
        return RequestOut(
            id=v.id,
            user_id=v.user_id,
            kind=v.kind,
            status=v.status,
            details=v.details,
            purposes=v.purposes,
            changes=v.changes,
            received_at=v.received_at,
            received_via=v.received_via,
            due_on=v.due_on,
            first_due_on=v.first_due_on,
            overdue=v.overdue,
            extended_at=v.extended_at,
            extension_reason=v.extension_reason,
            answered_at=v.answered_at,
            outcome=v.outcome,
            answer=v.answer,
            grounds=[GroundOut(**g) for g in v.grounds],
            effects=v.effects,
            user_notified=v.user_notified,
            rules=v.rules,
        )


class DirectivesIn(ApiModel):
    data_fate: Literal["keep", "erase", "communicate"]
    instructions: Annotated[Text, Field(max_length=8000)] = ""
    trusted_person_name: Short | None = None
    trusted_person_contact: Annotated[Text, Field(max_length=320)] | None = None


class DirectivesOut(BaseModel):
    data_fate: str
    instructions: str
    trusted_person_name: str | None
    trusted_person_contact: str | None
    created_at: datetime
    updated_at: datetime
    rules: list[str] = [domain.RULE_REQUESTS]


class ProfileChangesIn(ProfileIn):
    """Fields to rectify; null removes an optional one. Which ones a user changes alone is the
    platform's `privacy.self_service_fields`; the others go through a rectification request."""

    email: Annotated[Text, Field(max_length=320)] | None = None


class UnsubscribeOut(BaseModel):
    channel: str
    subscribed: bool
    detail: str
    rules: list[str] = [domain.RULE_MARKETING]


# --- my export -----------------------------------------------------------------------------------

_BOTH = {
    200: {
        "content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}},
        "description": "the JSON archive, or its HTML summary with format=html",
    }
}


def _export_response(
    archive: dict[str, Any], fmt: str, locale: str, platform_slug: str, now: datetime
) -> Response:
    stem = f"personal-data-{platform_slug}-{now.date().isoformat()}"
    if fmt == "html":
        return HTMLResponse(privacy.render_summary(archive, locale), headers={"Cache-Control": "no-store"})
    return JSONResponse(
        archive,
        headers={"Content-Disposition": f'attachment; filename="{stem}.json"', "Cache-Control": "no-store"},
    )


@router.get("/me/export", summary="Everything held about me (COMMON-PRIVACY-1)", responses=_BOTH)  # type: ignore[arg-type]
def my_export(
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    format: Annotated[Literal["json", "html"], Query(description="json (default) or html")] = "json",
) -> Response:
    with db.begin():
        archive = privacy.build_export(db, platform=platform, user_id=principal.user_id, now=now)
        locale = accounts.contact_of(db, platform.id, principal.user_id).locale
    return _export_response(archive, format, locale, platform.slug, now)


@router.get(
    "/staff/privacy/users/{user_id}/export",
    summary="Everything held about a user, to answer an access request (staff)",
    responses=_BOTH,  # type: ignore[arg-type]
)
def staff_export(
    user_id: UserId,
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    format: Annotated[Literal["json", "html"], Query(description="json (default) or html")] = "json",
) -> Response:
    with db.begin():
        archive = privacy.build_export(
            db, platform=platform, user_id=user_id, now=now, actor=Actor("staff", staff.user_id)
        )
        locale = accounts.contact_of(db, platform.id, user_id).locale
    return _export_response(archive, format, locale, platform.slug, now)


# --- my profile (rectification, GDPR art. 16) ------------------------------------------------------


@router.patch("/me/profile", response_model=UserOut, summary="Rectify my profile (COMMON-PRIVACY-1)")
def rectify_profile(
    body: ProfileChangesIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> UserOut:
    changes = body.model_dump(exclude_unset=True)
    allowed = set(platform.settings.privacy.self_service_fields)
    refused = [
        FieldError(
            f"body.{k}",
            "changed through a rectification request (POST /me/privacy-requests)"
            if k in accounts.EDITABLE_FIELDS
            else "not a field that can be changed here",
        )
        for k in changes
        if k not in allowed
    ]
    if refused:
        raise InvalidInput(refused, rules=[domain.RULE_REQUESTS])
    if not changes:
        raise InvalidInput([FieldError("body", "name at least one field to change")])
    with db.begin():
        user = accounts.update_profile(
            db,
            platform=platform,
            user_id=principal.user_id,
            changes=changes,
            actor=Actor("user", principal.user_id),
            now=now,
        )
    return _out(user)


# --- my requests ---------------------------------------------------------------------------------


@router.post(
    "/me/privacy-requests",
    status_code=201,
    response_model=RequestOut,
    summary="Ask for access, rectification, erasure, restriction, objection or portability",
)
def file_request(
    body: RequestIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RequestOut:
    with db.begin():
        view = privacy.file_request(
            db,
            platform=platform,
            user_id=principal.user_id,
            kind=body.kind,
            now=now,
            details=body.details,
            purposes=body.purposes,
            changes=body.changes,
        )
    return RequestOut.of(view)


def _cursor(page: Any) -> tuple[str, str] | None:
    after = page.position(list)
    if after is None:
        return None
    if len(after) != 2 or not all(isinstance(x, str) for x in after):
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")])
    try:
        date.fromisoformat(after[0])
    except ValueError as exc:
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")]) from exc
    return after[0], after[1]


def _page(rows: list[privacy.RequestView], page: Any) -> Page[RequestOut]:
    return paginate(rows, page, key=lambda v: [v.due_on.isoformat(), v.id], shape=RequestOut.of)


@router.get("/me/privacy-requests", response_model=Page[RequestOut], summary="My requests, by due date")
def my_requests(
    principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now, page: Pagination
) -> Page[RequestOut]:
    after = _cursor(page)
    with db.begin():
        rows = privacy.list_requests(
            db, platform=platform, now=now, user_id=principal.user_id, after=after, limit=page.fetch
        )
    return _page(rows, page)


@router.get("/me/privacy-requests/{request_id}", response_model=RequestOut, summary="One of my requests")
def my_request(
    request_id: RequestId, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RequestOut:
    with db.begin():
        return RequestOut.of(
            privacy.get_request(
                db, platform=platform, request_id=request_id, now=now, user_id=principal.user_id
            )
        )


# --- my consents, restrictions and objections -----------------------------------------------------


def _consents(db: Db, platform_id: str, user_id: str) -> ConsentsOut:
    return ConsentsOut(
        consents=[
            ConsentOut(**c.__dict__)
            for c in privacy.consents_of(db, platform_id=platform_id, user_id=user_id)
        ],
        history=[
            ConsentEventOut(**e.__dict__)
            for e in privacy.consent_history(db, platform_id=platform_id, user_id=user_id)
        ],
    )


@router.get(
    "/me/marketing-consents", response_model=ConsentsOut, summary="My marketing choices and their history"
)
def my_consents(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> ConsentsOut:
    with db.begin():
        return _consents(db, platform.id, principal.user_id)


@router.put(
    "/me/marketing-consents/{channel}",
    response_model=ConsentOut,
    summary="Opt in or out of marketing on one channel: email, sms or phone (COMMON-PRIVACY-2)",
)
def set_consent(
    channel: Annotated[str, Path(min_length=1, max_length=16)],
    body: ConsentIn,
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    meta: Meta,
) -> ConsentOut:
    with db.begin():
        view = privacy.set_consent(
            db,
            platform_id=platform.id,
            user_id=principal.user_id,
            channel=channel,
            granted=body.granted,
            source="settings",
            now=now,
            meta=meta,
        )
    return ConsentOut(**view.__dict__)


@router.get(
    "/me/processing-limits", response_model=list[LimitOut], summary="My restrictions and objections in force"
)
def my_limits(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> list[LimitOut]:
    with db.begin():
        return [
            LimitOut(**v.__dict__)
            for v in privacy.limits_of(db, platform_id=platform.id, user_id=principal.user_id)
        ]


@router.delete(
    "/me/processing-limits/{purpose}",
    response_model=list[LimitOut],
    summary="Lift my restriction or objection on a purpose (marketing, profiling)",
)
def lift_limit(
    purpose: Annotated[str, Path(min_length=1, max_length=16)],
    principal: CurrentPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> list[LimitOut]:
    with db.begin():
        rows = privacy.lift_own_limit(
            db, platform_id=platform.id, user_id=principal.user_id, purpose=purpose, now=now
        )
    return [LimitOut(**v.__dict__) for v in rows]


# --- my post-mortem directives (Loi Informatique et Libertés art. 85) ------------------------------


def _directives(v: privacy.DirectiveView) -> DirectivesOut:
    return DirectivesOut(**v.__dict__)


@router.get("/me/post-mortem-directives", response_model=DirectivesOut, summary="My post-mortem directives")
def my_directives(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db) -> DirectivesOut:
    with db.begin():
        return _directives(privacy.get_directives(db, platform_id=platform.id, user_id=principal.user_id))


@router.put(
    "/me/post-mortem-directives", response_model=DirectivesOut, summary="Set my post-mortem directives"
)
def put_directives(
    body: DirectivesIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> DirectivesOut:
    with db.begin():
        view = privacy.set_directives(
            db,
            platform_id=platform.id,
            user_id=principal.user_id,
            data_fate=body.data_fate,
            instructions=body.instructions,
            trusted_person_name=body.trusted_person_name,
            trusted_person_contact=body.trusted_person_contact,
            now=now,
        )
    return _directives(view)


@router.delete("/me/post-mortem-directives", status_code=204, summary="Revoke my post-mortem directives")
def delete_directives(principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now) -> Response:
    with db.begin():
        privacy.revoke_directives(db, platform_id=platform.id, user_id=principal.user_id, now=now)
    return Response(status_code=204)


@router.get(
    "/staff/privacy/users/{user_id}/post-mortem-directives",
    response_model=DirectivesOut,
    summary="A user's post-mortem directives, when a death is reported (staff)",
)
def staff_directives(
    user_id: UserId, _staff: StaffPrincipal, platform: CurrentPlatform, db: Db
) -> DirectivesOut:
    with db.begin():
        return _directives(privacy.get_directives(db, platform_id=platform.id, user_id=user_id))


# --- staff: the queue of requests ----------------------------------------------------------------


@router.get(
    "/staff/privacy-requests", response_model=Page[RequestOut], summary="Requests by due date (staff)"
)
def staff_queue(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    page: Pagination,
    status: Annotated[Literal["open", "answered", "all"], Query()] = "open",
    kind: Annotated[Kind | None, Query()] = None,
) -> Page[RequestOut]:
    after = _cursor(page)
    with db.begin():
        rows = privacy.list_requests(
            db,
            platform=platform,
            now=now,
            status=None if status == "all" else status,
            kind=kind,
            after=after,
            limit=page.fetch,
        )
    return _page(rows, page)


@router.get(
    "/staff/privacy-requests/overdue",
    response_model=Page[RequestOut],
    summary="Open requests past their answer deadline (staff)",
)
def staff_overdue(
    _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now, page: Pagination
) -> Page[RequestOut]:
    after = _cursor(page)
    with db.begin():
        rows = privacy.list_requests(
            db, platform=platform, now=now, overdue=True, after=after, limit=page.fetch
        )
    return _page(rows, page)


@router.get("/staff/privacy-requests/{request_id}", response_model=RequestOut, summary="A request (staff)")
def staff_request(
    request_id: RequestId, _staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RequestOut:
    with db.begin():
        return RequestOut.of(privacy.get_request(db, platform=platform, request_id=request_id, now=now))


@router.post(
    "/staff/privacy-requests",
    status_code=201,
    response_model=RequestOut,
    summary="Record a request received by letter or e-mail for a user (staff)",
)
def staff_file(
    body: StaffRequestIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RequestOut:
    received: datetime | None = None
    if body.received_on is not None:
        zone = ZoneInfo(platform.settings.timezone)
        received = datetime.combine(body.received_on, time(0), tzinfo=zone).astimezone(UTC)
        if body.received_on == now.astimezone(zone).date():
            received = now
    with db.begin():
        view = privacy.file_request(
            db,
            platform=platform,
            user_id=body.user_id,
            kind=body.kind,
            now=now,
            details=body.details,
            purposes=body.purposes,
            changes=body.changes,
            received_at=received,
            actor=Actor("staff", staff.user_id),
        )
    return RequestOut.of(view)


@router.post(
    "/staff/privacy-requests/{request_id}/extension",
    response_model=RequestOut,
    summary="Extend the deadline by up to two months, with the reason (staff, GDPR art. 12(3))",
)
def staff_extend(
    request_id: RequestId,
    body: ExtensionIn,
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> RequestOut:
    with db.begin():
        view = privacy.extend(
            db,
            platform=platform,
            request_id=request_id,
            months=body.months,
            reason=body.reason,
            staff_id=staff.user_id,
            now=now,
        )
    return RequestOut.of(view)


@router.post(
    "/staff/privacy-requests/{request_id}/answer",
    response_model=RequestOut,
    summary="Answer a request: granted, partially granted or refused with grounds (staff)",
)
def staff_answer(
    request_id: RequestId, body: AnswerIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> RequestOut:
    with db.begin():
        view = privacy.answer(
            db,
            platform=platform,
            request_id=request_id,
            outcome=body.outcome,
            message=body.message,
            grounds=body.grounds,
            staff_id=staff.user_id,
            now=now,
            changes=body.changes,
        )
    return RequestOut.of(view)


# --- public: one-click unsubscribe (RFC 8058) ------------------------------------------------------

Token = Annotated[str, Path(min_length=1, max_length=200, description="the signed token of the link")]
_PAGE = {
    200: {
        "content": {"application/json": {}, "text/html": {"schema": {"type": "string"}}},
        "description": "JSON, or an HTML page when the client prefers text/html (a browser)",
    }
}


def _wants_html(request: Request) -> bool:
    """A browser (Accept names text/html before any application/json) gets a page; others JSON."""
    accept = request.headers.get("accept", "").lower()
    html, json_ = accept.find("text/html"), accept.find("application/json")
    return html >= 0 and (json_ < 0 or html < json_)


def _unsubscribe_answer(
    request: Request, platform: Any, token: str, view: privacy.ConsentView, *, done: bool, locale: str
) -> Response:
    detail = (
        f"you will receive no more marketing by {view.channel}"
        if not view.granted
        else f"POST to this address to stop marketing by {view.channel}"
    )
    if _wants_html(request):
        html = render_unsubscribe_page(
            platform_name=platform.name,
            channel=view.channel,
            subscribed=view.granted,
            done=done,
            locale=locale,
        )
        return HTMLResponse(html, headers={"Cache-Control": "no-store"})
    body = UnsubscribeOut(channel=view.channel, subscribed=view.granted, detail=detail)
    return JSONResponse(body.model_dump(), headers={"Cache-Control": "no-store"})


@router.get(
    "/unsubscribe/{token}",
    summary="Show what a one-click unsubscribe link stops (no session; nothing changes)",
    responses=_PAGE,  # type: ignore[arg-type]
)
def unsubscribe_page(
    token: Token, request: Request, platform: CurrentPlatform, db: Db, runtime: RuntimeDep
) -> Response:
    with db.begin():
        view = privacy.read_link(db, platform=platform, token=token, secrets=(runtime.settings.secret_key,))
    return _unsubscribe_answer(request, platform, token, view, done=False, locale=platform.settings.locale)


@router.post(
    "/unsubscribe/{token}",
    summary="One-click unsubscribe (RFC 8058: POST List-Unsubscribe=One-Click; no session)",
    responses=_PAGE,  # type: ignore[arg-type]
)
def unsubscribe(
    token: Token,
    request: Request,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    meta: Meta,
    runtime: RuntimeDep,
) -> Response:
    with db.begin():
        view = privacy.unsubscribe(
            db, platform=platform, token=token, secrets=(runtime.settings.secret_key,), meta=meta, now=now
        )
    return _unsubscribe_answer(request, platform, token, view, done=True, locale=platform.settings.locale)
