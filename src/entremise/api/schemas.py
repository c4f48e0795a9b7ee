"""Base model for request bodies: unknown fields refused, strings never coerced to numbers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict


class ApiModel(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=False)


def _no_text_or_bool(value: Any) -> Any:
    if isinstance(value, (str, bool)):
        raise ValueError("must be a JSON integer")
    return value


def _no_nul(value: Any) -> Any:
    if isinstance(value, str) and "\x00" in value:
        raise ValueError("must not contain NUL characters")
    return value


StrictInt = Annotated[int, BeforeValidator(_no_text_or_bool)]
Text = Annotated[str, BeforeValidator(_no_nul)]


class Page(BaseModel):
    """A page of a cursor-paginated list: pass `next_cursor` back as `cursor` for the next page."""

    items: list[Any]
    next_cursor: str | None = None
