"""Accounts API: registration, sessions, passwords, closure, organisations, staff tools."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, Field, StrictBool

from entremise.accounts import service
from entremise.accounts.auth import AnyPrincipal, CurrentPrincipal, Meta, StaffPrincipal
from entremise.api.deps import CurrentPlatform, Db, Now, RuntimeDep
from entremise.api.pagination import decode_cursor, encode_cursor
from entremise.api.schemas import ApiModel, Page, Text
from entremise.audit.service import Actor
from entremise.kernel.errors import FieldError, Forbidden, InvalidInput
from entremise.terms import service as terms
from entremise.terms.guard import TermsAccepted

router = APIRouter(prefix="/api/v1/platforms/{platform}", tags=["accounts"])

Short = Annotated[Text, Field(max_length=200)]
Secret = Annotated[Text, Field(min_length=1, max_length=1024)]


class TermsAcceptanceIn(ApiModel):
    version: Annotated[Text, Field(min_length=1, max_length=40)]
    accepted: bool


class ProfileIn(ApiModel):
    phone: Short | None = None
    first_name: Short | None = None
    last_name: Short | None = None
    birth_date: date | None = None
    civility: Short | None = None
    status: Short | None = None
    address: Short | None = None
    country: Short | None = None
    occupation: Short | None = None
    landline: Short | None = None
    category: Short | None = None
    company_name: Short | None = None
    organisation_name: Short | None = None


class MarketingChoiceIn(ApiModel):
    """Marketing opt-in per channel at sign-up (COMMON-PRIVACY-2): absent or false means no."""

    email: StrictBool = False
    sms: StrictBool = False
    phone: StrictBool = False


class SignupViaIn(ApiModel):
    """The personal link the person signed up through (EXPERT-SIGNUP-2, EXPERT-REFER-1)."""

    kind: Literal["consultation", "inscription"]
    slug: Annotated[Text, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9-]{1,100}$")]


class RegisterIn(ProfileIn):
    role: Annotated[Text, Field(max_length=16)] = "client"
    email: Annotated[Text, Field(max_length=320)] | None = None
    password: Secret
    terms: TermsAcceptanceIn | None = None
    marketing: MarketingChoiceIn | None = None  # recorded by the privacy module's registration hook
    via: SignupViaIn | None = None
    # what the person certifies at sign-up, checked by the platform's pack (EXPERT-SIGNUP-1: adult, insured)
    attestations: list[Literal["adult", "insured"]] | None = Field(default=None, max_length=10)


class CreateUserIn(ProfileIn):
    role: Annotated[Text, Field(max_length=16)]
    email: Annotated[Text, Field(max_length=320)] | None = None
    password: Secret


class OrgUserIn(ProfileIn):
    email: Annotated[Text, Field(max_length=320)] | None = None
    password: Secret


class UserOut(BaseModel):
    id: str
    role: str
    status: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    organisation_id: str | None
    must_change_password: bool
    created_at: datetime
    closed_at: datetime | None
    profile: dict[str, Any]
    retention_holds: list[dict[str, Any]]


def _out(u: service.UserView) -> UserOut:
    return UserOut(
        id=u.id,
        role=u.role,
        status=u.status,
        email=u.email,
        phone=u.phone,
        first_name=u.first_name,
        last_name=u.last_name,
        birth_date=u.birth_date,
        organisation_id=u.organisation_id,
        must_change_password=u.must_change_password,
        created_at=u.created_at,
        closed_at=u.closed_at,
        profile=u.profile,
        retention_holds=u.retention_holds,
    )


class RegisterOut(UserOut):
    landing: dict[str, Any] | None = Field(
        default=None, description="where to take the new member: the provider whose link they came through"
    )


def _fields(body: ProfileIn) -> dict[str, Any]:
    return {k: v for k, v in body.model_dump(exclude_unset=True).items() if v is not None}


@router.post("/accounts", status_code=201, response_model=RegisterOut, summary="Sign up (self-service roles)")
def register(body: RegisterIn, platform: CurrentPlatform, db: Db, now: Now, meta: Meta) -> RegisterOut:
    fields = _fields(body)
    for k in ("role", "email", "password", "terms", "marketing", "via", "attestations"):
        fields.pop(k, None)
    with db.begin():
        user = service.register(
            db,
            platform=platform,
            role=body.role,
            email=body.email,
            password=body.password,
            fields=fields,
            meta=meta,
            now=now,
            terms_version=body.terms.version if body.terms else None,
            terms_accepted=bool(body.terms and body.terms.accepted),
            extras={
                **({"marketing": body.marketing.model_dump()} if body.marketing else {}),
                **({"via": body.via.model_dump()} if body.via else {}),
                "attestations": sorted(set(body.attestations or [])),
            },
        )
    return RegisterOut(**_out(user).model_dump(), landing=user.landing)


class LoginIn(ApiModel):
    identifier: Annotated[Text, Field(min_length=1, max_length=320)]
    password: Secret


class TermsToAccept(BaseModel):
    audience: str
    version: str
    read_url: str
    accept_url: str


class LoginOut(BaseModel):
    token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_at: datetime
    user_id: str
    role: str
    must_change_password: bool
    terms_to_accept: TermsToAccept | None


@router.post(
    "/sessions",
    status_code=201,
    response_model=LoginOut,
    summary="Log in (e-mail, or phone where the platform allows it, and password)",
    responses={
        401: {"description": "wrong identifier or password"},
        429: {"description": "too many failures"},
    },
)
def login(
    body: LoginIn, platform: CurrentPlatform, db: Db, now: Now, meta: Meta, runtime: RuntimeDep
) -> LoginOut:
    with db.begin():
        result = service.login(
            db,
            platform=platform,
            identifier=body.identifier,
            password=body.password,
            meta=meta,
            now=now,
            session_ttl=timedelta(hours=runtime.settings.session_ttl_hours),
        )
        pending = None
        if result.user is not None:
            pending = terms.pending_acceptance(
                db, platform=platform, user_id=result.user.id, role=result.user.role, now=now
            )
    if result.error is not None:
        raise result.error
    assert result.user is not None and result.token is not None and result.expires_at is not None
    to_accept = None
    if pending is not None:
        base = runtime.settings.base_url
        to_accept = TermsToAccept(
            audience=pending.audience,
            version=pending.version,
            read_url=terms.read_url(base, platform.slug, pending.audience, pending.version),
            accept_url=terms.accept_url(base, platform.slug, pending.audience, pending.version),
        )
    return LoginOut(
        token=result.token,
        expires_at=result.expires_at,
        user_id=result.user.id,
        role=result.user.role,
        must_change_password=result.user.must_change_password,
        terms_to_accept=to_accept,
    )


@router.delete("/sessions/current", status_code=204, summary="Log out this session")
def logout(principal: AnyPrincipal, platform: CurrentPlatform, db: Db, now: Now) -> Response:
    with db.begin():
        service.logout(
            db, platform_id=platform.id, user_id=principal.user_id, session_id=principal.session_id, now=now
        )
    return Response(status_code=204)


@router.delete("/sessions", status_code=204, summary="Log out everywhere (every session of mine)")
def logout_everywhere(principal: AnyPrincipal, platform: CurrentPlatform, db: Db, now: Now) -> Response:
    with db.begin():
        service.logout_everywhere(db, platform_id=platform.id, user_id=principal.user_id, now=now)
    return Response(status_code=204)


@router.get("/me", response_model=UserOut, summary="My account")
def me(principal: AnyPrincipal, platform: CurrentPlatform, db: Db) -> UserOut:
    with db.begin():
        return _out(service.get_user(db, platform_id=platform.id, user_id=principal.user_id))


class PasswordChangeIn(ApiModel):
    current_password: Secret
    new_password: Secret


@router.post("/me/password", status_code=204, summary="Change my password (other sessions are revoked)")
def change_password(
    body: PasswordChangeIn, principal: AnyPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> Response:
    with db.begin():
        service.change_password(
            db,
            platform=platform,
            user_id=principal.user_id,
            session_id=principal.session_id,
            current_password=body.current_password,
            new_password=body.new_password,
            now=now,
        )
    return Response(status_code=204)


class CompromiseIn(ApiModel):
    details: Annotated[Text, Field(max_length=2000)] = ""


@router.post("/me/compromise", status_code=204, summary="Report that my account is compromised")
def report_compromise(
    body: CompromiseIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> Response:
    with db.begin():
        service.force_credential_change(
            db,
            platform=platform,
            user_id=principal.user_id,
            actor=Actor("user", principal.user_id),
            reason=body.details or "compromise reported by the user",
            now=now,
        )
    return Response(status_code=204)


class ClosureIn(ApiModel):
    password: Secret


@router.post("/me/closure", response_model=UserOut, summary="Close my account (COMMON-ACCOUNT-4)")
def close_account(
    body: ClosureIn, principal: CurrentPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> UserOut:
    with db.begin():
        service.confirm_password(
            db, platform_id=platform.id, user_id=principal.user_id, password=body.password
        )
        user = service.close_account(db, platform=platform, user_id=principal.user_id, now=now)
    return _out(user)


class ResetRequestIn(ApiModel):
    identifier: Annotated[Text, Field(min_length=1, max_length=320)]


class ResetRequestedOut(BaseModel):
    status: str = "accepted"
    detail: str = "if an account uses this identifier, a reset message is on its way"


@router.post(
    "/password-resets",
    status_code=202,
    response_model=ResetRequestedOut,
    summary="E-mail me a reset link (always 202)",
)
def request_reset(
    body: ResetRequestIn, platform: CurrentPlatform, db: Db, now: Now, runtime: RuntimeDep
) -> ResetRequestedOut:
    with db.begin():
        service.request_password_reset(
            db, platform=platform, identifier=body.identifier, base_url=runtime.settings.base_url, now=now
        )
    return ResetRequestedOut()


class ResetConfirmIn(ApiModel):
    token: Annotated[Text, Field(min_length=1, max_length=200)]
    new_password: Secret


@router.post("/password-resets/confirm", status_code=204, summary="Set a new password with a reset token")
def confirm_reset(body: ResetConfirmIn, platform: CurrentPlatform, db: Db, now: Now) -> Response:
    with db.begin():
        service.reset_password(
            db, platform=platform, token=body.token, new_password=body.new_password, now=now
        )
    return Response(status_code=204)


@router.post(
    "/organisation/users", status_code=201, response_model=UserOut, summary="Add a user to my organisation"
)
def create_org_user(
    body: OrgUserIn, principal: TermsAccepted, platform: CurrentPlatform, db: Db, now: Now, meta: Meta
) -> UserOut:
    if principal.role != "org_admin":
        raise Forbidden("only an organisation's administrator adds its users")
    fields = _fields(body)
    for k in ("email", "password"):
        fields.pop(k, None)
    with db.begin():
        org_id = service.organisation_of(db, platform_id=platform.id, user_id=principal.user_id)
        user = service.register(
            db,
            platform=platform,
            role="org_user",
            email=body.email,
            password=body.password,
            fields=fields,
            meta=service.RequestMeta(ip=meta.ip, user_agent=meta.user_agent),
            now=now,
            created_by=Actor("user", principal.user_id),
            organisation_id=org_id,
        )
    return _out(user)


# --- staff ----------------------------------------------------------------------------------------

Limit = Annotated[int, Query(ge=1, le=200)]
Cursor = Annotated[str | None, Query(max_length=200)]


@router.get("/staff/users", response_model=Page, summary="List users (staff)")
def list_users(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    cursor: Cursor = None,
    limit: Limit = 50,
    role: Annotated[str | None, Query(max_length=16)] = None,
) -> Page[dict[str, Any]]:
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, str):
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")])
    with db.begin():
        rows = service.list_users(db, platform_id=platform.id, after_id=after, limit=limit + 1, role=role)
    items = [_out(u).model_dump(mode="json") for u in rows[:limit]]
    return Page(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)


@router.post("/staff/users", status_code=201, response_model=UserOut, summary="Create an account (staff)")
def staff_create_user(
    body: CreateUserIn, staff: StaffPrincipal, platform: CurrentPlatform, db: Db, now: Now
) -> UserOut:
    fields = _fields(body)
    for k in ("role", "email", "password"):
        fields.pop(k, None)
    with db.begin():
        user = service.register(
            db,
            platform=platform,
            role=body.role,
            email=body.email,
            password=body.password,
            fields=fields,
            meta=service.RequestMeta(),
            now=now,
            created_by=Actor("staff", staff.user_id),
        )
    return _out(user)


class ForceChangeIn(ApiModel):
    reason: Annotated[Text, Field(min_length=1, max_length=2000)]


@router.post(
    "/staff/users/{user_id}/credential-reset",
    status_code=204,
    summary="Force a credential change (COMMON-ACCOUNT-3)",
)
def force_change(
    user_id: Annotated[str, Path(max_length=36)],
    body: ForceChangeIn,
    staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    now: Now,
) -> Response:
    with db.begin():
        service.force_credential_change(
            db,
            platform=platform,
            user_id=user_id,
            actor=Actor("staff", staff.user_id),
            reason=body.reason,
            now=now,
        )
    return Response(status_code=204)


@router.get("/staff/fraud-signals", response_model=Page, summary="Fraud signals (staff)")
def fraud_signals(
    _staff: StaffPrincipal,
    platform: CurrentPlatform,
    db: Db,
    status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
    cursor: Cursor = None,
    limit: Limit = 50,
) -> Page[dict[str, Any]]:
    after = decode_cursor(cursor)
    if after is not None and not isinstance(after, str):
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")])
    with db.begin():
        rows = service.list_fraud_signals(
            db,
            platform_id=platform.id,
            status=None if status == "all" else status,
            after_id=after,
            limit=limit + 1,
        )
    items = [
        {
            "id": r.id,
            "kind": r.kind,
            "user_ids": r.user_ids,
            "evidence": r.evidence,
            "status": r.status,
            "created_at": r.created_at.isoformat(),
        }
        for r in rows[:limit]
    ]
    return Page(items=items, next_cursor=encode_cursor(rows[limit - 1].id) if len(rows) > limit else None)
