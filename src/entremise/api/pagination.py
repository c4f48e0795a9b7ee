"""Cursor (keyset) pagination, the same for every list of the API.

A list endpoint takes `Pagination` (query parameters `cursor`, opaque, and `limit`, 1 to 100,
default 50), reads at most `limit + 1` rows after the cursor position in a stable order, and
answers with `paginate(...)`: a `Page` whose `next_cursor` is null on the last page.

    @router.get("/things", response_model=Page[ThingOut])
    def list_things(platform: CurrentPlatform, page: Pagination, db: Db) -> Page[ThingOut]:
        after = page.position(int)          # None on the first page, else the last id seen
        with db.begin():
            rows = service.list_things(db, platform.id, after_id=after, limit=page.fetch)
        return paginate(rows, page, key=lambda r: r.id, shape=ThingOut.of)

Cursors are URL-safe base64 of a JSON value; a cursor this API did not issue is a 422 naming
`query.cursor`, as is a limit outside 1..100 (`query.limit`).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Query

from entremise.api.schemas import Page
from entremise.kernel.errors import FieldError, InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 100
MAX_CURSOR_LENGTH = 512

R = TypeVar("R")
T = TypeVar("T")
K = TypeVar("K")


def encode_cursor(value: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> Any:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        return json.loads(base64.urlsafe_b64decode(padded.encode("ascii")).decode())
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")]) from exc


@dataclass(frozen=True)
class PageParams:
    cursor: str | None
    limit: int

    @property
    def fetch(self) -> int:
        """How many rows to read: one more than the page, to know whether another page follows."""
        return self.limit + 1

    def position(self, kind: type[K]) -> K | None:
        """The decoded cursor, checked to be a `kind` (int, str, list...); None on the first page."""
        value = decode_cursor(self.cursor)
        if value is None:
            return None
        if not isinstance(value, kind) or isinstance(value, bool):
            raise InvalidInput([FieldError("query.cursor", "not a cursor this API issued")])
        return value


def page_params(
    cursor: Annotated[
        str | None,
        Query(
            max_length=MAX_CURSOR_LENGTH,
            pattern=r"^[A-Za-z0-9_-]*$",
            description="the `next_cursor` of the previous page; absent for the first page",
        ),
    ] = None,
    limit: Annotated[
        int, Query(ge=1, le=MAX_LIMIT, description=f"page size, 1 to {MAX_LIMIT}")
    ] = DEFAULT_LIMIT,
) -> PageParams:
    return PageParams(cursor=cursor or None, limit=limit)


Pagination = Annotated[PageParams, Depends(page_params)]


def paginate(
    rows: Sequence[R], params: PageParams, *, key: Callable[[R], Any], shape: Callable[[R], T]
) -> Page[T]:
    """A page from up to `params.fetch` rows: the first `limit`, and a cursor if more remain."""
    items = list(rows[: params.limit])
    more = len(rows) > params.limit
    next_cursor = encode_cursor(key(items[-1])) if more and items else None
    return Page[T](items=[shape(r) for r in items], next_cursor=next_cursor)
