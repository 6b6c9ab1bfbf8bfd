"""Selects compiled once and run on the request's own DB-API connection (issue 20, the pool page's statements).

A pool page ran ~4.5 statements through the ORM session: each was built anew (``pool_filter``: ~700 Python calls
a page), then given its cache key, looked up in the compiled cache and wrapped in an execution context and a
result (~260 calls a statement on SQLite, more with psycopg). A ``KeptSelect`` is a select whose per-request values
are named ``bindparam``s: it is compiled once for a dialect, and a run sends its SQL with the values, processed by
the bind processors SQLAlchemy itself would apply, on the DB-API connection of the session's transaction (so it
sees what the request wrote and is part of its transaction), and reads the rows through SQLAlchemy's own result
processors: the same values as the ORM's. The engine's ``before_cursor_execute`` / ``after_cursor_execute``
listeners hear each statement (the tests' and the bench's counters); a driver's error is raised as SQLAlchemy's
``DBAPIError`` (the platform's retry and 503 handlers read it), a lost connection invalidated.

Values that are not named ``bindparam``s (a scope's region path, a LIMIT) are compiled in as they were when the
select was built: the caller keys its kept selects by them (``talent.queries``)."""
from __future__ import annotations

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from lms.db import ResultColumns


class KeptSelect:
    """``stmt`` compiled once for ``dialect``; ``run(session, values)`` its rows as tuples (``scalars``: the first
    column). ``values`` maps each named ``bindparam`` of ``stmt`` (``required=True``: none may be forgotten)."""

    __slots__ = ("sql", "order", "fixed", "binds", "columns", "dialect")

    def __init__(self, stmt, dialect) -> None:
        compiled = stmt.compile(dialect=dialect)
        if compiled.post_compile_params or compiled.literal_execute_params:
            raise ValueError("an expanding IN or a literal-execute parameter: its SQL is made per run")
        self.sql, self.dialect = compiled.string, dialect
        names = list(compiled.positiontup) if compiled.positional else list(compiled.binds)
        self.order = tuple(names) if compiled.positional else None
        self.fixed, self.binds = {}, {}
        for name in names:
            param = compiled.binds[name]
            proc = param.type.dialect_impl(dialect).bind_processor(dialect)
            if param.required:  # a named bindparam without a value: the run's
                self.binds[name] = proc
            else:  # a value of the select as built: processed once
                value = param.effective_value
                self.fixed[name] = proc(value) if proc is not None else value
        self.columns = ResultColumns([c.type for c in stmt.selected_columns], dialect)

    def _params(self, values: dict):
        params = dict(self.fixed)
        for name, proc in self.binds.items():
            value = values[name]
            params[name] = proc(value) if proc is not None else value
        return tuple(params[n] for n in self.order) if self.order is not None else params

    def run(self, session: Session, values: dict) -> list[tuple]:
        params = self._params(values)
        conn = session.connection()
        dbapi_conn = conn.connection
        try:
            cursor = dbapi_conn.cursor()
            try:
                dispatch = conn.dispatch
                if dispatch.before_cursor_execute:
                    dispatch.before_cursor_execute(conn, cursor, self.sql, params, None, False)
                cursor.execute(self.sql, params)
                if dispatch.after_cursor_execute:
                    dispatch.after_cursor_execute(conn, cursor, self.sql, params, None, False)
                rows = self.columns.rows(cursor)
            finally:
                cursor.close()
        except self.dialect.loaded_dbapi.Error as exc:
            lost = self.dialect.is_disconnect(exc, dbapi_conn.dbapi_connection, None)
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(self.sql, params, exc, self.dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=self.dialect) from exc
        return rows

    def scalars(self, session: Session, values: dict) -> list:
        return [r[0] for r in self.run(session, values)]

