"""Building blocks for request and response bodies.

- `ApiModel`: base of every request body. Unknown fields are refused, and a NUL character in any
  string anywhere in the body is refused (PostgreSQL cannot store it), naming the field.
- `StrictInt`: a JSON integer, never a string or a boolean, bounded to a signed 64-bit integer
  (what a BigInteger column holds). Narrow it further with `Field(ge=..., le=...)`. As in JSON
  Schema, `1000.0` is the integer 1000 (an `ApiModel` turns integral numbers into ints on the
  way in); `1000.5` is refused. For request bodies only: query and path integers arrive as text,
  declare them `int` with `Query(ge=..., le=...)` / `Path(ge=..., le=...)`.
- `Text`: a string without NUL characters (for models that are not `ApiModel`s, and for query and
  path parameters, which the request middleware also checks).
- `Page[T]`: a page of a cursor-paginated list (see `entremise.api.pagination`).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, Strict, field_validator, model_validator

INT64_MIN = -(2**63)
INT64_MAX = 2**63 - 1

NUL_REASON = "must not contain NUL characters"


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError(NUL_REASON)
    return value


def _integral_numbers_as_int(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {k: _integral_numbers_as_int(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral_numbers_as_int(v) for v in value]
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
# JSON schema as minimum/maximum; it refuses "1" and true.
StrictInt = Annotated[int, Strict(), Field(ge=INT64_MIN, le=INT64_MAX)]
Text = Annotated[str, AfterValidator(_no_nul)]


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)

    @model_validator(mode="before")
    @classmethod
    def _json_numbers(cls, data: Any) -> Any:
        # JSON does not tell 1000 from 1000.0; JSON Schema calls both integers
        return _integral_numbers_as_int(data)

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
