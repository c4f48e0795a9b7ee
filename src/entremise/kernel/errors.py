"""Errors the application raises; the API turns each into an RFC 9457 problem document."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class FieldError:
    """One invalid field: `field` is a dotted path such as `body.email`."""

    field: str
    reason: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "reason": self.reason}


class AppError(Exception):
    status: int = 400
    type_: str = "about:blank"
    title: str = "Bad request"

    def __init__(
        self, detail: str, *, rules: Sequence[str] = (), extra: dict[str, Any] | None = None
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.rules = tuple(rules)
        self.extra = dict(extra or {})
        self.headers: dict[str, str] = {}


class InvalidInput(AppError):
    status = 422
    type_ = "https://entremise.dev/problems/invalid-input"
    title = "Invalid input"

    def __init__(self, errors: Sequence[FieldError], detail: str | None = None, *, rules: Sequence[str] = ()):
        self.errors = list(errors)
        super().__init__(detail or "; ".join(f"{e.field}: {e.reason}" for e in self.errors), rules=rules)


class Unauthorized(AppError):
    status = 401
    type_ = "https://entremise.dev/problems/unauthorized"
    title = "Authentication required"


class Forbidden(AppError):
    status = 403
    type_ = "https://entremise.dev/problems/forbidden"
    title = "Forbidden"


class NotFound(AppError):
    status = 404
    type_ = "https://entremise.dev/problems/not-found"
    title = "Not found"


class Conflict(AppError):
    status = 409
    type_ = "https://entremise.dev/problems/conflict"
    title = "Conflict"


class RateLimited(AppError):
    status = 429
    type_ = "https://entremise.dev/problems/rate-limited"
    title = "Too many requests"

    def __init__(self, detail: str, retry_after_seconds: int) -> None:
        super().__init__(detail, extra={"retry_after": retry_after_seconds})
        self.headers = {"Retry-After": str(retry_after_seconds)}
