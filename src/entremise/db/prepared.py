"""Prepared statements for hot paths: a SQLAlchemy Core statement compiled once per dialect and
run straight on the DBAPI cursor of a SQLAlchemy connection.

`Connection.execute` costs tens of microseconds of Python per statement (cache key, execution
context, result object, events), far more than SQLite takes to run a small INSERT. A `Prepared`
statement pays that once: it keeps the compiled SQL, the order of its parameters and SQLAlchemy's
own bind processors of their types (UTCDateTime, JSON...), so the values written are exactly
those `Connection.execute` writes. It runs in the connection's current transaction; a DBAPI
error is re-raised as SQLAlchemy's (`sqlalchemy.exc.IntegrityError`...), and a lost connection is
invalidated, as `Connection.execute` does. Statement events and `echo` logging are skipped.

Use it only for the few statements a hot path repeats; everything else stays `Connection.execute`.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, DateTime, TypeDecorator
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.expression import ClauseElement
from sqlalchemy.types import TypeEngine


@dataclass(frozen=True)
class _Compiled:
    sql: str
    positional: bool
    processors: tuple[tuple[int, str, Callable[[Any], Any]], ...]  # (position, name, bind processor)
    pick: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # the values in parameter order


def _picker(names: tuple[str, ...]) -> Callable[[Mapping[str, Any]], tuple[Any, ...]]:
    if len(names) > 1:
        return operator.itemgetter(*names)
    return lambda values: tuple(values[n] for n in names)


def _is_timestamp(type_: TypeEngine[Any]) -> bool:
    base = type_.impl_instance if isinstance(type_, TypeDecorator) else type_
    return isinstance(base, DateTime)


def _last_value_cached(process: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """A processor of immutable values (timestamps) that remembers its last input: a posting
    writes the same `now` in several rows. The (input, output) pair is swapped in one
    assignment, so concurrent threads never see one's input with another's output."""
    last: tuple[Any, Any] = (object(), None)

    def cached(value: Any) -> Any:
        nonlocal last
        seen, out = last
        if value is seen:
            return out
        out = process(value)
        last = (value, out)
        return out

    return cached


class Prepared:
    """A Core statement (every value a named `bindparam`) compiled once per dialect."""

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}
        self._last: tuple[Dialect | None, _Compiled] = (None, _Compiled("", False, (), _picker(())))

    def _for(self, dialect: Dialect) -> _Compiled:
        last_dialect, last = self._last
        if dialect is last_dialect:
            return last
        found = self._compiled.get(f"{dialect.name}+{dialect.driver}")
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            assert isinstance(compiled, SQLCompiler)
            names = tuple(compiled.positiontup or compiled.binds)
            processors = []
            for i, name in enumerate(names):
                type_ = compiled.binds[name].type
                # the dialect's own implementation of the type, as Connection.execute uses
                process = type_.dialect_impl(dialect).bind_processor(dialect)
                if process is not None:
                    cached = _last_value_cached(process) if _is_timestamp(type_) else process
                    processors.append((i, name, cached))
            found = _Compiled(compiled.string, bool(compiled.positiontup), tuple(processors), _picker(names))
            self._compiled[f"{dialect.name}+{dialect.driver}"] = found
        self._last = (dialect, found)
        return found

    @staticmethod
    def _params(c: _Compiled, values: Mapping[str, Any]) -> Any:
        if c.positional:
            if not c.processors:
                return c.pick(values)
            row = list(c.pick(values))
            for i, _name, process in c.processors:
                row[i] = process(row[i])
            return row
        if not c.processors:
            return values
        named = dict(values)
        for _i, name, process in c.processors:
            named[name] = process(named[name])
        return named

    def execute(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        """Run once; returns the DBAPI cursor (fetch from it, then let it go)."""
        c = self._for(conn.dialect)
        params = self._params(c, values)
        cursor = conn.connection.cursor()
        try:
            cursor.execute(c.sql, params)
        except conn.dialect.loaded_dbapi.Error as err:
            raise _wrapped(conn, c.sql, params, err, cursor) from err
        return cursor

    def executemany(self, conn: Connection, rows: Iterable[Mapping[str, Any]]) -> None:
        c = self._for(conn.dialect)
        params = [self._params(c, r) for r in rows]
        cursor = conn.connection.cursor()
        try:
            cursor.executemany(c.sql, params)
        except conn.dialect.loaded_dbapi.Error as err:
            raise _wrapped(conn, c.sql, params, err, cursor) from err
        finally:
            cursor.close()

    def all(self, conn: Connection, values: Mapping[str, Any]) -> list[Sequence[Any]]:
        cursor = self.execute(conn, values)
        try:
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def scalar(self, conn: Connection, values: Mapping[str, Any]) -> Any:
        cursor = self.execute(conn, values)
        try:
            row = cursor.fetchone()
            return None if row is None else row[0]
        finally:
            cursor.close()

    def run(self, conn: Connection, values: Mapping[str, Any]) -> None:
        self.execute(conn, values).close()


def _wrapped(conn: Connection, sql: str, params: Any, err: Any, cursor: Any) -> DBAPIError:
    lost = conn.dialect.is_disconnect(err, conn.connection.dbapi_connection, cursor)
    if lost:
        conn.invalidate(err)
    wrapped = DBAPIError.instance(
        sql, params, err, conn.dialect.loaded_dbapi.Error, connection_invalidated=lost, dialect=conn.dialect
    )
    assert isinstance(wrapped, DBAPIError)  # instance() wraps a DBAPI error as its DBAPIError subclass
    return wrapped
