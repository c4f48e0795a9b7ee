"""Who is calling: FastAPI dependencies other modules use to authenticate and authorise.

- `CurrentPrincipal`: a valid bearer session of this platform whose owner has no pending forced
  password change (401 otherwise; 403 `password-change-required` when a change is pending); on a
  state-changing method, refused when an access guard refuses the owner (a suspension).
- `AnyPrincipal`: the same, but also admits a session whose owner must change the password (only
  for logout and password change).
- `StaffPrincipal`: a `CurrentPrincipal` with the role staff (403 otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from entremise.accounts import service
from entremise.api.deps import CurrentPlatform, Db, Now
from entremise.kernel.errors import Forbidden, Unauthorized

_bearer = HTTPBearer(auto_error=False, description="the session token returned by login")


class PasswordChangeRequired(Forbidden):
    type_ = "https://entremise.dev/problems/password-change-required"
    title = "Password change required"


@dataclass(frozen=True)
class Principal:
    user_id: str
    platform_id: str
    role: str
    session_id: str
    must_change_password: bool = False

    @property
    def is_staff(self) -> bool:
        return self.role == "staff"


def _principal(
    platform: CurrentPlatform,
    db: Db,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise Unauthorized("a bearer session token is required")
    token = credentials.credentials
    if len(token) > 200:
        raise Unauthorized("the session token is missing, expired or revoked")
    with db.begin():
        info = service.authenticate(db, platform_id=platform.id, token=token, now=now)
    return Principal(info.user_id, info.platform_id, info.role, info.session_id, info.must_change_password)


def _current(
    principal: Annotated[Principal, Depends(_principal)], request: Request, db: Db, now: Now
) -> Principal:
    if principal.must_change_password:
        raise PasswordChangeRequired(
            "you must change your password before doing anything else", rules=["COMMON-ACCOUNT-3"]
        )
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        # a suspended or terminated account changes nothing (access guards, e.g. sanctions)
        with db.begin():
            refusal = service.access_refusal(
                db, platform_id=principal.platform_id, user_id=principal.user_id, now=now
            )
        if refusal is not None:
            raise refusal
    return principal


def _staff(principal: Annotated[Principal, Depends(_current)]) -> Principal:
    if not principal.is_staff:
        raise Forbidden("staff only")
    return principal


def request_meta(request: Request) -> service.RequestMeta:
    """IP, user agent and device of the request (evidence and brute-force limits)."""
    ip = request.client.host if request.client else "unknown"
    return service.RequestMeta(
        ip=ip[:45],
        user_agent=(request.headers.get("user-agent") or "")[:400] or None,
        device_id=(request.headers.get("x-device-id") or "").strip()[:200] or None,
    )


AnyPrincipal = Annotated[Principal, Depends(_principal)]
CurrentPrincipal = Annotated[Principal, Depends(_current)]
StaffPrincipal = Annotated[Principal, Depends(_staff)]
Meta = Annotated[service.RequestMeta, Depends(request_meta)]
