"""Account use cases. Each function runs inside the caller's transaction (`with db.begin():`)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from entremise.accounts import domain
from entremise.accounts.models import (
    AuthSession,
    Device,
    FraudSignal,
    LoginAttempt,
    Organisation,
    PasswordResetToken,
    User,
)
from entremise.accounts.passwords import hash_password, needs_rehash, new_token, token_digest, verify_password
from entremise.audit.service import Actor, record
from entremise.kernel.errors import (
    AppError,
    Conflict,
    FieldError,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    Unauthorized,
)
from entremise.kernel.ids import new_id
from entremise.notify.outbox import enqueue
from entremise.platforms.service import PlatformView
from entremise.platforms.settings import PROFILE_FIELDS, ROLES

RESET_TTL = timedelta(hours=1)
NAME_FIELDS = ("first_name", "last_name")


@dataclass(frozen=True)
class RequestMeta:
    """Where a request comes from: evidence for terms acceptance, devices and brute-force limits."""

    ip: str = "unknown"
    user_agent: str | None = None
    device_id: str | None = None


@dataclass(frozen=True)
class UserView:
    id: str
    platform_id: str
    role: str
    status: str
    email: str | None
    phone: str | None
    first_name: str | None
    last_name: str | None
    birth_date: date | None
    organisation_id: str | None
    locale: str
    must_change_password: bool
    created_at: datetime
    closed_at: datetime | None
    profile: dict[str, Any] = field(default_factory=dict)
    retention_holds: list[dict[str, Any]] = field(default_factory=list)
    landing: dict[str, Any] | None = None  # set by registration hooks (EXPERT-SIGNUP-2)


@dataclass(frozen=True)
class Contact:
    email: str | None
    phone: str | None
    locale: str


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    user_id: str
    platform_id: str
    role: str
    must_change_password: bool


@dataclass(frozen=True)
class LoginResult:
    """Either a session (token shown once) or the error to answer, after the attempt is committed."""

    token: str | None = None
    session_id: str | None = None
    expires_at: datetime | None = None
    user: UserView | None = None
    error: Exception | None = None


def _view(u: User) -> UserView:
    return UserView(
        id=u.id,
        platform_id=u.platform_id,
        role=u.role,
        status=u.status,
        email=u.email,
        phone=u.phone,
        first_name=u.first_name,
        last_name=u.last_name,
        birth_date=u.birth_date,
        organisation_id=u.organisation_id,
        locale=u.locale,
        must_change_password=u.must_change_password,
        created_at=u.created_at,
        closed_at=u.closed_at,
        profile=dict(u.profile or {}),
        retention_holds=list(u.retention_holds or []),
    )


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _device_hash(platform_id: str, device_id: str) -> str:
    return _digest(f"{platform_id}:{device_id}")


def _today(platform: PlatformView, now: datetime) -> date:
    return now.astimezone(ZoneInfo(platform.settings.timezone)).date()


# --- checks on input -------------------------------------------------------------------------------


def check_password(password: str, field_path: str = "body.password") -> None:
    verdict = domain.password_verdict(password)
    if not verdict.allowed:
        raise InvalidInput([FieldError(field_path, verdict.reason)], rules=verdict.rules)


@dataclass
class _Cleaned:
    email: str | None
    phone: str | None
    birth_date: date | None
    first_name: str | None
    last_name: str | None
    profile: dict[str, Any]
    organisation_name: str | None


def _clean_fields(
    platform: PlatformView, role: str, email: str | None, fields: dict[str, Any], now: datetime
) -> _Cleaned:
    """Validate a registration's fields against the role's rules; every problem is reported at once."""
    settings = platform.settings
    rules = settings.roles[role]
    errors: list[FieldError] = []
    cited: set[str] = set()
    phone_login = "phone" in settings.login_identifiers
    unknown = sorted(set(fields) - set(PROFILE_FIELDS))
    for name in unknown:
        errors.append(FieldError(f"body.{name}", "unknown field"))
    required = list(rules.required_fields)
    if rules.min_age is not None and "birth_date" not in required:
        required.append("birth_date")  # an age limit needs the birth date
    if phone_login and role != "staff" and "phone" not in required:
        required.append("phone")  # CARPOOL-ACCOUNT-1 (members; staff log in by e-mail)
    for name in domain.missing_fields(required, fields):
        errors.append(FieldError(f"body.{name}", "required for this role"))
        cited.update(("EXPERT-SIGNUP-1", "EXPERT-SIGNUP-2") if not phone_login else ("CARPOOL-ACCOUNT-1",))
    clean_email: str | None = None
    if email is None or not email.strip():
        if not phone_login:
            errors.append(FieldError("body.email", "required"))
            cited.add("COMMON-ACCOUNT-2")
    else:
        decision = domain.normalise_email(email)
        if decision.outcome is None:
            errors.append(FieldError("body.email", decision.reason))
        clean_email = decision.outcome
    clean_phone: str | None = None
    if isinstance(fields.get("phone"), str) and fields["phone"].strip():
        decision_p = domain.parse_phone(fields["phone"], settings.default_region, mobile_only=phone_login)
        if decision_p.outcome is None:
            errors.append(FieldError("body.phone", decision_p.reason))
            cited.update(decision_p.rules)
        clean_phone = decision_p.outcome
    if isinstance(fields.get("landline"), str) and fields["landline"].strip():
        decision_l = domain.parse_phone(fields["landline"], settings.default_region)
        if decision_l.outcome is None:
            errors.append(FieldError("body.landline", decision_l.reason))
        else:
            fields = {**fields, "landline": decision_l.outcome}
    birth: date | None = None
    raw_birth = fields.get("birth_date")
    if raw_birth is not None and raw_birth != "":
        try:
            birth = raw_birth if isinstance(raw_birth, date) else date.fromisoformat(str(raw_birth))
        except ValueError:
            errors.append(FieldError("body.birth_date", "a date as YYYY-MM-DD"))
        else:
            verdict = domain.age_verdict(birth, _today(platform, now), rules.min_age)
            if not verdict.allowed:
                errors.append(FieldError("body.birth_date", verdict.reason))
                cited.update(verdict.rules)
    for name, value in fields.items():
        if name in PROFILE_FIELDS and value is not None and not isinstance(value, (str, date)):
            errors.append(FieldError(f"body.{name}", "must be a string"))
        elif isinstance(value, str) and len(value) > 200:
            errors.append(FieldError(f"body.{name}", "at most 200 characters"))
    if errors:
        raise InvalidInput(errors, rules=sorted(cited))
    profile = {
        k: v.strip()
        for k, v in fields.items()
        if k not in ("phone", "birth_date", "organisation_name", *NAME_FIELDS)
        and isinstance(v, str)
        and v.strip()
    }
    names = {k: (fields.get(k) or "").strip() or None for k in NAME_FIELDS}
    org = fields.get("organisation_name")
    return _Cleaned(
        clean_email,
        clean_phone,
        birth,
        names["first_name"],
        names["last_name"],
        profile,
        org.strip() if isinstance(org, str) and org.strip() else None,
    )


# --- registration ---------------------------------------------------------------------------------

# Newer modules act on a registration without accounts importing them (privacy: the marketing consent
# given at sign-up; growth: personal links and the EXPERT-SIGNUP-2 landing). A hook runs inside the
# registration's transaction with the new account, the request's `extras` (the parts of the request
# the hook's module owns: `marketing`, `via`...), the request meta and the time; it may raise
# InvalidInput (the registration is then refused) and may return a dict that becomes part of the
# registration answer's `landing`.
RegistrationHook = Callable[
    [Session, PlatformView, UserView, dict[str, Any], RequestMeta, datetime], dict[str, Any] | None
]
REGISTRATION_HOOKS: list[RegistrationHook] = []


def register_registration_hook(hook: RegistrationHook) -> None:
    if hook not in REGISTRATION_HOOKS:
        REGISTRATION_HOOKS.append(hook)


def register(
    db: Session,
    *,
    platform: PlatformView,
    role: str,
    email: str | None,
    password: str,
    fields: dict[str, Any],
    meta: RequestMeta,
    now: datetime,
    terms_version: str | None = None,
    terms_accepted: bool = False,
    created_by: Actor | None = None,
    organisation_id: str | None = None,
    must_change_password: bool | None = None,
    extras: Mapping[str, Any] | None = None,
) -> UserView:
    """Create an account (COMMON-ACCOUNT-1/2, EXPERT-SIGNUP-1/2, CARPOOL-ACCOUNT-1, COMMON-TERMS-1).

    Without `created_by` this is a self-service sign-up, allowed only where the role says so, and it
    must carry acceptance of the terms in force for the role's audience. With `created_by` (staff or
    an org_admin) the account is created with `must_change_password` so its owner sets their own.
    `extras` are the parts of the request other modules own (such as marketing consent); every
    registration hook sees them, in this transaction.
    """
    from entremise.terms import service as terms  # terms depends on accounts; import at call time

    if role not in ROLES or role not in platform.settings.roles:
        raise InvalidInput([FieldError("body.role", f"one of {', '.join(platform.settings.roles)}")])
    rules = platform.settings.roles[role]
    if created_by is None and not rules.self_service:
        raise Forbidden(
            f"accounts with the role {role!r} are created by the platform", rules=["COMMON-ACCOUNT-1"]
        )
    password_verdict = domain.password_verdict(password)
    try:
        cleaned = _clean_fields(platform, role, email, dict(fields), now)
    except InvalidInput as exc:
        if not password_verdict.allowed:  # report every problem at once
            exc.errors.append(FieldError("body.password", password_verdict.reason))
            exc.rules = tuple(sorted({*exc.rules, *password_verdict.rules}))
            exc.detail = "; ".join(f"{e.field}: {e.reason}" for e in exc.errors)
        raise
    check_password(password)
    if organisation_id is not None and role != "org_user":
        raise InvalidInput([FieldError("body.role", "only org_user accounts join an existing organisation")])
    in_force = terms.version_in_force(db, platform_id=platform.id, audience=rules.audience, now=now)
    if (
        created_by is None
        and in_force is not None
        and (not terms_accepted or terms_version != in_force.version)
    ):
        raise InvalidInput(
            [FieldError("body.terms", f"accept version {in_force.version} of the terms (accepted: true)")],
            rules=["COMMON-TERMS-1"],
            detail=f"registration needs the acceptance of the terms version {in_force.version}",
        )
    conflicts: list[str] = []
    if cleaned.email and db.scalar(
        select(User.id).where(User.platform_id == platform.id, User.email == cleaned.email)
    ):
        conflicts.append("email")
    if cleaned.phone and db.scalar(
        select(User.id).where(User.platform_id == platform.id, User.phone == cleaned.phone)
    ):
        conflicts.append("phone")
    if conflicts:
        raise Conflict(
            "an account already uses this " + " and ".join(conflicts),
            rules=["COMMON-ACCOUNT-1"],
            extra={"fields": conflicts},
        )
    org_id = organisation_id
    if role == "org_admin":
        org_id = new_id()
        db.add(
            Organisation(
                id=org_id,
                platform_id=platform.id,
                name=cleaned.organisation_name or (cleaned.profile.get("company_name") or "organisation"),
                created_at=now,
            )
        )
        db.flush()
    user = User(
        id=new_id(),
        platform_id=platform.id,
        role=role,
        organisation_id=org_id,
        status="active",
        email=cleaned.email,
        phone=cleaned.phone,
        first_name=cleaned.first_name,
        last_name=cleaned.last_name,
        birth_date=cleaned.birth_date,
        profile=cleaned.profile,
        locale=platform.settings.locale,
        password_hash=hash_password(password),
        must_change_password=(created_by is not None)
        if must_change_password is None
        else must_change_password,
        created_at=now,
        retention_holds=[],
    )
    db.add(user)
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # a concurrent sign-up took the e-mail or phone first
        raise Conflict("an account already uses this e-mail or phone", rules=["COMMON-ACCOUNT-1"]) from exc
    actor = created_by or Actor("user", user.id)
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="user.registered",
        obj=("user", user.id),
        at=now,
        rules=["COMMON-ACCOUNT-1", "COMMON-ACCOUNT-2"],
        data={"role": role, "organisation_id": org_id, "self_service": created_by is None},
    )
    if role == "org_admin":
        record(
            db,
            platform_id=platform.id,
            actor=actor,
            action="organisation.created",
            obj=("organisation", org_id or ""),
            at=now,
        )
    if created_by is None and in_force is not None:
        terms.record_acceptance(
            db, platform_id=platform.id, user_id=user.id, terms_version_id=in_force.id, meta=meta, now=now
        )
    if meta.device_id:
        _see_device(
            db, platform_id=platform.id, user_id=user.id, device_id=meta.device_id, now=now, on="registration"
        )
    view = _view(user)
    extra = dict(extras or {})
    landing: dict[str, Any] = {}
    for hook in REGISTRATION_HOOKS:
        landing.update(hook(db, platform, view, extra, meta, now) or {})
    if extra.get("via") is not None and not landing:
        raise InvalidInput([FieldError("body.via", "sign-up links are not handled on this platform")])
    return replace(view, landing=landing or None)


def _see_device(
    db: Session, *, platform_id: str, user_id: str, device_id: str, now: datetime, on: str
) -> None:
    """COMMON-ACCOUNT-1: remember the device; a device already used by another account is flagged."""
    h = _device_hash(platform_id, device_id[:200])
    mine = db.scalar(
        select(Device).where(
            Device.platform_id == platform_id, Device.user_id == user_id, Device.device_hash == h
        )
    )
    if mine is not None:
        mine.last_seen = now
        return
    others = sorted(
        set(
            db.scalars(
                select(Device.user_id).where(
                    Device.platform_id == platform_id, Device.device_hash == h, Device.user_id != user_id
                )
            )
        )
    )
    db.add(
        Device(
            id=new_id(),
            platform_id=platform_id,
            user_id=user_id,
            device_hash=h,
            first_seen=now,
            last_seen=now,
        )
    )
    if others:
        signal = FraudSignal(
            id=new_id(),
            platform_id=platform_id,
            kind="shared_device",
            user_ids=[*others, user_id],
            evidence={"device_hash": h, "seen_on": on, "new_user_id": user_id, "earlier_user_ids": others},
            status="open",
            created_at=now,
        )
        db.add(signal)
        db.flush()
        record(
            db,
            platform_id=platform_id,
            actor=Actor.system(),
            action="fraud_signal.opened",
            obj=("fraud_signal", signal.id),
            at=now,
            rules=["COMMON-ACCOUNT-1"],
            reason="a device already used by another account",
        )
    db.flush()


# --- login and sessions ---------------------------------------------------------------------------


def _find_by_identifier(db: Session, platform: PlatformView, identifier: str) -> tuple[str, User | None]:
    """The normalised identifier (for brute-force counting) and the active account it names, if any."""
    raw = identifier.strip()
    if "@" in raw and "email" in platform.settings.login_identifiers:
        email = domain.normalise_email(raw).outcome or raw.lower()
        user = db.scalar(select(User).where(User.platform_id == platform.id, User.email == email))
        return email, user
    if "phone" in platform.settings.login_identifiers:
        phone = domain.parse_phone(raw, platform.settings.default_region).outcome
        if phone is not None:
            user = db.scalar(select(User).where(User.platform_id == platform.id, User.phone == phone))
            return phone, user
    return raw.lower(), None


# Newer modules (sanctions) refuse a user at login and on state-changing calls: a guard returns the
# error to answer (a suspension, a termination) or None. Until one is registered, nobody is refused.
AccessGuard = Callable[[Session, str, str, datetime], AppError | None]
ACCESS_GUARDS: list[AccessGuard] = []


def register_access_guard(guard: AccessGuard) -> None:
    if guard not in ACCESS_GUARDS:
        ACCESS_GUARDS.append(guard)


def access_refusal(db: Session, *, platform_id: str, user_id: str, now: datetime) -> AppError | None:
    """The first refusal a registered guard gives this user, or None."""
    for guard in ACCESS_GUARDS:
        refusal = guard(db, platform_id, user_id, now)
        if refusal is not None:
            return refusal
    return None


def login(
    db: Session,
    *,
    platform: PlatformView,
    identifier: str,
    password: str,
    meta: RequestMeta,
    now: datetime,
    session_ttl: timedelta,
) -> LoginResult:
    """COMMON-ACCOUNT-2. The attempt is recorded whatever happens; the caller commits, then raises
    `result.error` if there is one (so failed attempts count even though the answer is an error)."""
    key, user = _find_by_identifier(db, platform, identifier)
    key_hash = _digest(f"{platform.id}:{key}")
    since = now - domain.LOGIN_WINDOW
    account_failures = tuple(
        db.scalars(
            select(LoginAttempt.at).where(
                LoginAttempt.platform_id == platform.id,
                LoginAttempt.identifier_hash == key_hash,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.at > since,
            )
        )
    )
    ip_failures = tuple(
        db.scalars(
            select(LoginAttempt.at).where(
                LoginAttempt.platform_id == platform.id,
                LoginAttempt.ip == meta.ip,
                LoginAttempt.succeeded.is_(False),
                LoginAttempt.at > since,
            )
        )
    )
    throttle = domain.login_throttle(domain.Throttle(account_failures, ip_failures), now)
    if throttle.outcome is not None:
        return LoginResult(error=RateLimited(throttle.reason, throttle.outcome))
    active = user is not None and user.status == "active"
    ok = verify_password(user.password_hash if active and user else None, password)
    db.add(
        LoginAttempt(platform_id=platform.id, identifier_hash=key_hash, ip=meta.ip[:45], at=now, succeeded=ok)
    )
    if not ok or user is None:
        db.flush()
        return LoginResult(error=Unauthorized("wrong identifier or password", rules=["COMMON-ACCOUNT-2"]))
    refusal = access_refusal(db, platform_id=platform.id, user_id=user.id, now=now)
    if refusal is not None:
        db.flush()
        return LoginResult(error=refusal)
    if user.password_hash and needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    token = new_token()
    session = AuthSession(
        id=new_id(),
        platform_id=platform.id,
        user_id=user.id,
        token_hash=token_digest(token),
        created_at=now,
        expires_at=now + session_ttl,
        ip=meta.ip[:45],
        user_agent=(meta.user_agent or "")[:400] or None,
    )
    db.add(session)
    if meta.device_id:
        _see_device(
            db, platform_id=platform.id, user_id=user.id, device_id=meta.device_id, now=now, on="login"
        )
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user.id),
        action="session.created",
        obj=("user", user.id),
        at=now,
        data={"session_id": session.id},
    )
    db.flush()
    return LoginResult(token=token, session_id=session.id, expires_at=session.expires_at, user=_view(user))


def authenticate(db: Session, *, platform_id: str, token: str, now: datetime) -> SessionInfo:
    """The session a bearer token opens, or Unauthorized (unknown, expired, revoked, other platform)."""
    row = db.scalar(
        select(AuthSession).where(
            AuthSession.platform_id == platform_id, AuthSession.token_hash == token_digest(token)
        )
    )
    if row is None or row.revoked_at is not None or row.expires_at <= now:
        raise Unauthorized("the session token is missing, expired or revoked")
    user = db.get(User, row.user_id)
    if user is None or user.platform_id != platform_id or user.status != "active":
        raise Unauthorized("the session token is missing, expired or revoked")
    return SessionInfo(row.id, user.id, platform_id, user.role, user.must_change_password)


def _revoke_sessions(
    db: Session, *, platform_id: str, user_id: str, now: datetime, keep: str | None = None
) -> int:
    q = update(AuthSession).where(
        AuthSession.platform_id == platform_id,
        AuthSession.user_id == user_id,
        AuthSession.revoked_at.is_(None),
    )
    if keep is not None:
        q = q.where(AuthSession.id != keep)
    result = db.execute(q.values(revoked_at=now))
    return int(getattr(result, "rowcount", 0) or 0)


def logout(db: Session, *, platform_id: str, user_id: str, session_id: str, now: datetime) -> None:
    row = db.get(AuthSession, session_id)
    if row is None or row.platform_id != platform_id or row.user_id != user_id:
        raise NotFound("no such session")
    if row.revoked_at is None:
        row.revoked_at = now
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="session.revoked",
        obj=("user", user_id),
        at=now,
        data={"session_id": session_id},
    )


def logout_everywhere(db: Session, *, platform_id: str, user_id: str, now: datetime) -> int:
    count = _revoke_sessions(db, platform_id=platform_id, user_id=user_id, now=now)
    record(
        db,
        platform_id=platform_id,
        actor=Actor("user", user_id),
        action="session.revoked_all",
        obj=("user", user_id),
        at=now,
        data={"count": count},
    )
    return count


def _user(db: Session, platform_id: str, user_id: str, *, lock: bool = False) -> User:
    q = select(User).where(User.platform_id == platform_id, User.id == user_id)
    if lock:
        q = q.with_for_update()
    user = db.scalar(q)
    if user is None:
        raise NotFound("no such user")
    return user


def confirm_password(db: Session, *, platform_id: str, user_id: str, password: str) -> None:
    """Re-check the password before a grave act (closing the account)."""
    if not verify_password(_user(db, platform_id, user_id).password_hash, password):
        raise InvalidInput([FieldError("body.password", "does not match")])


def get_user(db: Session, *, platform_id: str, user_id: str) -> UserView:
    return _view(_user(db, platform_id, user_id))


def contact_of(db: Session, platform_id: str, user_id: str) -> Contact:
    """How to reach a user: e-mail, phone (E.164) and locale. Closed accounts have neither."""
    user = _user(db, platform_id, user_id)
    return Contact(user.email, user.phone, user.locale)


def active_users(db: Session, *, platform_id: str, roles: list[str]) -> list[UserView]:
    """Active accounts with one of `roles` (for notifications such as new terms)."""
    if not roles:
        return []
    rows = db.scalars(
        select(User)
        .where(User.platform_id == platform_id, User.status == "active", User.role.in_(roles))
        .order_by(User.id)
    )
    return [_view(u) for u in rows]


def _notify(
    db: Session, platform: PlatformView, user: User, template: str, payload: dict[str, Any], now: datetime
) -> None:
    if user.email:
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template=template,
            recipient=user.email,
            payload=payload,
            now=now,
            locale=user.locale,
            user_id=user.id,
        )


# --- passwords ------------------------------------------------------------------------------------


def change_password(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    session_id: str,
    current_password: str,
    new_password: str,
    now: datetime,
) -> None:
    """COMMON-ACCOUNT-2/3: needs the current password; other sessions are revoked."""
    user = _user(db, platform.id, user_id, lock=True)
    if not verify_password(user.password_hash, current_password):
        raise InvalidInput(
            [FieldError("body.current_password", "does not match")], rules=["COMMON-ACCOUNT-2"]
        )
    check_password(new_password, "body.new_password")
    if verify_password(user.password_hash, new_password):
        raise InvalidInput(
            [FieldError("body.new_password", "must differ from the current password")],
            rules=["COMMON-ACCOUNT-3"],
        )
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    _revoke_sessions(db, platform_id=platform.id, user_id=user.id, now=now, keep=session_id)
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user.id),
        action="user.password_changed",
        obj=("user", user.id),
        at=now,
        rules=["COMMON-ACCOUNT-2"],
    )
    _notify(db, platform, user, "accounts.password_changed", {"platform_name": platform.name}, now)


def request_password_reset(
    db: Session, *, platform: PlatformView, identifier: str, base_url: str, now: datetime
) -> None:
    """Queue a single-use reset link valid 1 hour. Says nothing about whether the account exists."""
    _key, user = _find_by_identifier(db, platform, identifier)
    if user is None or user.status != "active" or not user.email:
        return
    token = new_token()
    db.add(
        PasswordResetToken(
            id=new_id(),
            platform_id=platform.id,
            user_id=user.id,
            token_hash=token_digest(token),
            created_at=now,
            expires_at=now + RESET_TTL,
        )
    )
    record(
        db,
        platform_id=platform.id,
        actor=Actor("anonymous"),
        action="user.password_reset_requested",
        obj=("user", user.id),
        at=now,
    )
    _notify(
        db,
        platform,
        user,
        "accounts.password_reset",
        {
            "platform_name": platform.name,
            "reset_url": f"{base_url.rstrip('/')}/reset-password?token={token}",
            "expires_minutes": int(RESET_TTL.total_seconds() // 60),
        },
        now,
    )


def reset_password(
    db: Session, *, platform: PlatformView, token: str, new_password: str, now: datetime
) -> None:
    """Use a reset token once: set the password, clear a forced change, revoke every session."""
    row = db.scalar(
        select(PasswordResetToken)
        .where(
            PasswordResetToken.platform_id == platform.id,
            PasswordResetToken.token_hash == token_digest(token),
        )
        .with_for_update()
    )
    if row is None or row.used_at is not None or row.expires_at <= now:
        raise InvalidInput([FieldError("body.token", "invalid, used or expired reset token")])
    check_password(new_password, "body.new_password")
    user = _user(db, platform.id, row.user_id, lock=True)
    if user.status != "active":
        raise InvalidInput([FieldError("body.token", "invalid, used or expired reset token")])
    row.used_at = now
    user.password_hash = hash_password(new_password)
    user.must_change_password = False
    _revoke_sessions(db, platform_id=platform.id, user_id=user.id, now=now)
    record(
        db,
        platform_id=platform.id,
        actor=Actor("user", user.id),
        action="user.password_reset",
        obj=("user", user.id),
        at=now,
        rules=["COMMON-ACCOUNT-2"],
    )
    _notify(db, platform, user, "accounts.password_changed", {"platform_name": platform.name}, now)


def force_credential_change(
    db: Session, *, platform: PlatformView, user_id: str, actor: Actor, reason: str, now: datetime
) -> None:
    """COMMON-ACCOUNT-3: revoke every session and require a new password at the next login.

    Staff call it with a reason; a user reporting a compromise of their own account calls it too.
    """
    user = _user(db, platform.id, user_id, lock=True)
    if user.status != "active":
        raise Conflict("the account is closed")
    user.must_change_password = True
    count = _revoke_sessions(db, platform_id=platform.id, user_id=user.id, now=now)
    action = "user.compromise_reported" if actor.id == user.id else "user.credentials_reset_by_staff"
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action=action,
        obj=("user", user.id),
        at=now,
        rules=["COMMON-ACCOUNT-3"],
        reason=reason,
        data={"sessions_revoked": count},
    )
    _notify(
        db,
        platform,
        user,
        "accounts.credentials_reset_by_staff",
        {"platform_name": platform.name, "reason": reason},
        now,
    )


# --- closure --------------------------------------------------------------------------------------

# Other modules (booking, ledger...) register a function telling whether a user took part in a
# transaction; civil identity is then kept under COMMON-PRIVACY-3. Until one is registered, none did.
ActivityCheck = Callable[[Session, str, str], bool]
ACTIVITY_CHECKS: list[ActivityCheck] = []


def register_activity_check(check: ActivityCheck) -> None:
    if check not in ACTIVITY_CHECKS:
        ACTIVITY_CHECKS.append(check)


# Newer modules erase or pseudonymise what they hold when an account closes, in the closure's
# transaction, whatever closed it (the user, new terms refused, an erasure request, staff). A hook gets
# the closed account (its `retention_holds` set) and the time.
ClosureHook = Callable[[Session, PlatformView, UserView, datetime], None]
CLOSURE_HOOKS: list[ClosureHook] = []


def register_closure_hook(hook: ClosureHook) -> None:
    if hook not in CLOSURE_HOOKS:
        CLOSURE_HOOKS.append(hook)


def close_account(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    now: datetime,
    actor: Actor | None = None,
    reason: str = "user_request",
    rules: tuple[str, ...] = ("COMMON-ACCOUNT-4",),
    data: dict[str, Any] | None = None,
) -> UserView:
    """COMMON-ACCOUNT-4: close the account, revoke sessions, confirm by e-mail and erase personal data
    except what a retention rule holds (recorded in `retention_holds`). The e-mail and phone become
    free to register again; only a digest of the e-mail stays, for the account retention period."""
    user = _user(db, platform.id, user_id, lock=True)
    if user.status != "active":
        raise Conflict("the account is already closed")
    had_transactions = any(check(db, platform.id, user.id) for check in ACTIVITY_CHECKS)
    holds = domain.retention_holds(
        closed_on=_today(platform, now),
        had_transactions=had_transactions,
        retention_days=platform.settings.retention_days,
    )
    kept = {h.field for h in holds}
    email = user.email
    _revoke_sessions(db, platform_id=platform.id, user_id=user.id, now=now)
    if email:
        enqueue(
            db,
            platform_id=platform.id,
            channel="email",
            template="accounts.account_closed",
            recipient=email,
            payload={"platform_name": platform.name, "closed_at": now.isoformat()},
            now=now,
            locale=user.locale,
            user_id=user.id,
        )
    user.email_digest = _digest(email) if email and "email_digest" in kept else None
    user.email = None
    user.phone = None
    user.profile = {}
    user.password_hash = None
    user.must_change_password = False
    for name in ("first_name", "last_name", "birth_date"):
        if name not in kept:
            setattr(user, name, None)
    db.execute(
        update(Device)
        .where(Device.platform_id == platform.id, Device.user_id == user.id)
        .values(last_seen=now)
    )
    user.status = "closed"
    user.closed_at = now
    user.closure_reason = reason
    user.retention_holds = [
        {"field": h.field, "rule": h.rule, "kind": h.kind, "until": h.until.isoformat()} for h in holds
    ]
    record(
        db,
        platform_id=platform.id,
        actor=actor or Actor("user", user.id),
        action="user.closed",
        obj=("user", user.id),
        at=now,
        rules=list(rules),
        reason=reason,
        data={"retention_holds": user.retention_holds, **(data or {})},
    )
    db.flush()
    view = _view(user)
    for hook in CLOSURE_HOOKS:
        hook(db, platform, view, now)
    return view


# --- staff ----------------------------------------------------------------------------------------


def list_users(
    db: Session, *, platform_id: str, after_id: str | None = None, limit: int = 50, role: str | None = None
) -> list[UserView]:
    q = select(User).where(User.platform_id == platform_id)
    if role:
        q = q.where(User.role == role)
    if after_id:
        q = q.where(User.id > after_id)
    return [_view(u) for u in db.scalars(q.order_by(User.id).limit(limit))]


@dataclass(frozen=True)
class FraudSignalView:
    id: str
    kind: str
    user_ids: list[str]
    evidence: dict[str, Any]
    status: str
    created_at: datetime


def list_fraud_signals(
    db: Session,
    *,
    platform_id: str,
    status: str | None = "open",
    after_id: str | None = None,
    limit: int = 50,
) -> list[FraudSignalView]:
    q = select(FraudSignal).where(FraudSignal.platform_id == platform_id)
    if status:
        q = q.where(FraudSignal.status == status)
    if after_id:
        q = q.where(FraudSignal.id > after_id)
    rows = db.scalars(q.order_by(FraudSignal.id).limit(limit))
    return [
        FraudSignalView(r.id, r.kind, list(r.user_ids), dict(r.evidence), r.status, r.created_at)
        for r in rows
    ]


def organisation_of(db: Session, *, platform_id: str, user_id: str) -> str | None:
    return _user(db, platform_id, user_id).organisation_id


def count_users(db: Session, *, platform_id: str) -> int:
    return int(db.scalar(select(func.count()).select_from(User).where(User.platform_id == platform_id)) or 0)


# --- privacy: rectification, export, retention (called by the privacy module) ---------------------

EDITABLE_FIELDS = (*(f for f in PROFILE_FIELDS if f != "organisation_name"), "email")


def _current_fields(db: Session, user: User) -> dict[str, Any]:
    fields: dict[str, Any] = {k: v for k, v in (user.profile or {}).items() if v}
    for name in ("phone", *NAME_FIELDS):
        if getattr(user, name):
            fields[name] = getattr(user, name)
    if user.birth_date is not None:
        fields["birth_date"] = user.birth_date.isoformat()
    if user.organisation_id is not None:
        org = db.get(Organisation, user.organisation_id)
        if org is not None:
            fields["organisation_name"] = org.name
    return fields


def update_profile(
    db: Session,
    *,
    platform: PlatformView,
    user_id: str,
    changes: Mapping[str, Any],
    actor: Actor,
    now: datetime,
    rules: tuple[str, ...] = ("COMMON-PRIVACY-1",),
) -> UserView:
    """Rectify profile fields (COMMON-PRIVACY-1, GDPR art. 16): `changes` maps a field of
    `EDITABLE_FIELDS` to its new value (None or "" removes it). The result is checked like a
    registration (required fields, formats, age, uniqueness of e-mail and phone); every problem is
    named at once as `body.<field>`. The audit entry lists the fields changed, never their values."""
    user = _user(db, platform.id, user_id, lock=True)
    if user.status != "active":
        raise Conflict("the account is closed")
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise InvalidInput([FieldError(f"body.{k}", "not a field that can be changed here") for k in unknown])
    before = _current_fields(db, user)
    merged = dict(before)
    for name, value in changes.items():
        if name == "email":
            continue
        if value is None or (isinstance(value, str) and not value.strip()):
            merged.pop(name, None)
        else:
            merged[name] = value
    email = changes.get("email", user.email)
    cleaned = _clean_fields(platform, user.role, email, merged, now)
    conflicts = [
        name
        for name, value, column in (
            ("email", cleaned.email, User.email),
            ("phone", cleaned.phone, User.phone),
        )
        if value
        and value != getattr(user, name)
        and db.scalar(
            select(User.id).where(User.platform_id == platform.id, column == value, User.id != user.id)
        )
    ]
    if conflicts:
        raise Conflict(
            "an account already uses this " + " and ".join(conflicts),
            rules=["COMMON-ACCOUNT-1"],
            extra={"fields": conflicts},
        )
    new_values: dict[str, Any] = {
        "email": cleaned.email,
        "phone": cleaned.phone,
        "first_name": cleaned.first_name,
        "last_name": cleaned.last_name,
        "birth_date": cleaned.birth_date,
        "profile": cleaned.profile,
    }
    old_email = user.email
    for name, value in new_values.items():
        setattr(user, name, value)
    after = _current_fields(db, user)
    changed = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    if old_email != user.email:
        changed.append("email")
    try:
        with db.begin_nested():
            db.flush()
    except IntegrityError as exc:  # a concurrent sign-up took the e-mail or phone first
        raise Conflict("an account already uses this e-mail or phone", rules=["COMMON-ACCOUNT-1"]) from exc
    record(
        db,
        platform_id=platform.id,
        actor=actor,
        action="user.profile_updated",
        obj=("user", user.id),
        at=now,
        rules=list(rules),
        data={"fields": changed},
    )
    return _view(user)


def export_data(db: Session, *, platform_id: str, user_id: str) -> dict[str, Any]:
    """Everything this module holds about a user (COMMON-PRIVACY-1, GDPR arts. 15 and 20), as JSON
    values: the account and profile, sessions (never the token), devices, password reset requests,
    login attempts made with the user's identifiers, and the fraud signals naming the user (without
    the evidence, which concerns other accounts too)."""
    user = _user(db, platform_id, user_id)
    view = _view(user)
    account = {
        "id": view.id,
        "role": view.role,
        "status": view.status,
        "email": view.email,
        "phone": view.phone,
        "first_name": view.first_name,
        "last_name": view.last_name,
        "birth_date": view.birth_date.isoformat() if view.birth_date else None,
        "profile": view.profile,
        "locale": view.locale,
        "organisation_id": view.organisation_id,
        "created_at": view.created_at.isoformat(),
        "closed_at": view.closed_at.isoformat() if view.closed_at else None,
        "retention_holds": view.retention_holds,
    }
    if user.organisation_id:
        org = db.get(Organisation, user.organisation_id)
        account["organisation_name"] = org.name if org is not None else None
    sessions = [
        {
            "id": s.id,
            "created_at": s.created_at.isoformat(),
            "expires_at": s.expires_at.isoformat(),
            "revoked_at": s.revoked_at.isoformat() if s.revoked_at else None,
            "ip": s.ip,
            "user_agent": s.user_agent,
        }
        for s in db.scalars(
            select(AuthSession)
            .where(AuthSession.platform_id == platform_id, AuthSession.user_id == user_id)
            .order_by(AuthSession.created_at, AuthSession.id)
        )
    ]
    devices = [
        {
            "device_hash": d.device_hash,
            "first_seen": d.first_seen.isoformat(),
            "last_seen": d.last_seen.isoformat(),
        }
        for d in db.scalars(
            select(Device)
            .where(Device.platform_id == platform_id, Device.user_id == user_id)
            .order_by(Device.first_seen, Device.id)
        )
    ]
    resets = [
        {
            "created_at": t.created_at.isoformat(),
            "expires_at": t.expires_at.isoformat(),
            "used_at": t.used_at.isoformat() if t.used_at else None,
        }
        for t in db.scalars(
            select(PasswordResetToken)
            .where(PasswordResetToken.platform_id == platform_id, PasswordResetToken.user_id == user_id)
            .order_by(PasswordResetToken.created_at, PasswordResetToken.id)
        )
    ]
    keys = [_digest(f"{platform_id}:{k}") for k in (user.email, user.phone) if k]
    attempts = [
        {"at": a.at.isoformat(), "ip": a.ip, "succeeded": a.succeeded}
        for a in db.scalars(
            select(LoginAttempt)
            .where(LoginAttempt.platform_id == platform_id, LoginAttempt.identifier_hash.in_(keys))
            .order_by(LoginAttempt.at, LoginAttempt.id)
        )
    ]
    signals = [
        {"id": f.id, "kind": f.kind, "status": f.status, "created_at": f.created_at.isoformat()}
        for f in db.scalars(
            select(FraudSignal).where(FraudSignal.platform_id == platform_id).order_by(FraudSignal.id)
        )
        if user_id in (f.user_ids or [])
    ]
    return {
        "account": account,
        "sessions": sessions,
        "devices": devices,
        "password_resets": resets,
        "login_attempts": attempts,
        "fraud_signals": signals,
    }


def closed_user_ids(db: Session, *, platform_id: str, closed_before: datetime | None = None) -> list[str]:
    """Closed accounts of a platform (closed before `closed_before`, when given), for retention purges."""
    q = select(User.id).where(User.platform_id == platform_id, User.status == "closed")
    if closed_before is not None:
        q = q.where(User.closed_at < closed_before)
    return list(db.scalars(q.order_by(User.id)))


@dataclass(frozen=True)
class EndedHold:
    user_id: str
    fields: tuple[str, ...]
    rules: tuple[str, ...]
    kinds: tuple[str, ...]


def purge_ended_holds(db: Session, *, platform: PlatformView, now: datetime) -> list[EndedHold]:
    """COMMON-PRIVACY-3: erase the fields of closed accounts whose retention hold has ended (its
    `until` day is past in the platform's time zone) and drop those holds. Rows are locked, so two
    purges at once erase each field once."""
    today = _today(platform, now)
    ended: list[EndedHold] = []
    rows = db.scalars(
        select(User)
        .where(User.platform_id == platform.id, User.status == "closed")
        .order_by(User.id)
        .with_for_update()
    )
    for user in rows:
        holds = list(user.retention_holds or [])
        over = [h for h in holds if date.fromisoformat(str(h["until"])) < today]
        if not over:
            continue
        for hold in over:
            setattr(user, str(hold["field"]), None)
        user.retention_holds = [h for h in holds if h not in over]
        ended.append(
            EndedHold(
                user.id,
                tuple(str(h["field"]) for h in over),
                tuple(sorted({str(h["rule"]) for h in over})),
                tuple(sorted({str(h["kind"]) for h in over})),
            )
        )
    db.flush()
    return ended


CONNECTION_DATA = ("login_attempts", "sessions", "devices", "password_reset_tokens")


def purge_connection_data(db: Session, *, platform_id: str, what: str, before: datetime) -> int:
    """COMMON-PRIVACY-3 (technical connection data): delete the rows of `what` (one of
    `CONNECTION_DATA`) whose last use ended before `before`: login attempts made, sessions expired or
    revoked, devices last seen, reset links expired. Returns how many rows went."""
    stmt: Any
    if what == "login_attempts":
        stmt = delete(LoginAttempt).where(LoginAttempt.platform_id == platform_id, LoginAttempt.at < before)
    elif what == "sessions":
        stmt = delete(AuthSession).where(
            AuthSession.platform_id == platform_id,
            or_(AuthSession.expires_at < before, AuthSession.revoked_at < before),
        )
    elif what == "devices":
        stmt = delete(Device).where(Device.platform_id == platform_id, Device.last_seen < before)
    elif what == "password_reset_tokens":
        stmt = delete(PasswordResetToken).where(
            PasswordResetToken.platform_id == platform_id, PasswordResetToken.expires_at < before
        )
    else:
        raise ValueError(f"unknown connection data {what!r}")
    result = db.execute(stmt.execution_options(synchronize_session=False))
    return int(getattr(result, "rowcount", 0) or 0)
