"""Building blocks for request and response bodies.

- `ApiModel`: base of every request body. Unknown fields are refused, and a NUL character in any
  string anywhere in the body is refused (PostgreSQL cannot store it), naming the field.
- `StrictInt`: a JSON integer, never a string, boolean or float, bounded to a signed 64-bit
  integer (what a BigInteger column holds). Narrow it further with `Field(ge=..., le=...)`.
- `Text`: a string without NUL characters (for models that are not `ApiModel`s, and for query and
  path parameters, which the request middleware also checks).
- `Page[T]`: a page of a cursor-paginated list (see `entremise.api.pagination`).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

NUL_REASON = "must not contain NUL characters"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_REASON)
    return value


def _contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_contains_nul(k) or _contains_nul(v) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return any(_contains_nul(v) for v in value)
    return False


# Strict() (rather than a before-validator) keeps later `Field(ge=..., le=...)` constraints in the
# JSON schema as minimum/maximum; it refuses "1", true and 1.0 alike.
StrictInt = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
Text = Annotated[str, AfterValidator(_no_nul)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @field_validator("*", mode="after")
    @classmethod
    def _refuse_nul(cls, value: Any) -> Any:
        if _contains_nul(value):
            raise ValueError(NUL_REASON)
        return value


T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    """A page of a cursor-paginated list: pass `next_cursor` back as `cursor` for the next page."""

    items: list[T]
    next_cursor: str | None = None
