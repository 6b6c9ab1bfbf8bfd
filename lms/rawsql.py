"""Selects compiled once and run straight on a DB-API connection (issue 20): the pool page's statements
(``talent.queries``) and the public verification's one read (``certificates.services.read_public_record``).

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


class KeptSelect:
    """``stmt`` compiled once for ``dialect``; ``run(session, values)`` its rows (``scalars``: the first column),
    each made by ``make`` (tuple); ``params(values)`` and ``read(cursor, params, …)`` for a caller with a DB-API
    cursor of its own. ``values`` maps each named ``bindparam`` of ``stmt`` (``required=True``: none may be
    forgotten); ``lookup`` finds a column's result processor (``ResultColumns``)."""

    __slots__ = ("sql", "order", "fixed", "binds", "columns", "dialect", "make")

    def __init__(self, stmt, dialect, *, lookup=None, make=tuple) -> None:
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
        self.columns = ResultColumns([c.type for c in stmt.selected_columns], dialect, lookup)
        self.make = make

    def params(self, values: dict):
        """``values`` as the driver takes them: bind-processed, in the dialect's paramstyle."""
        params = dict(self.fixed)
        for name, proc in self.binds.items():
            value = values[name]
            params[name] = proc(value) if proc is not None else value
        return tuple(params[n] for n in self.order) if self.order is not None else params

    def read(self, cursor, params, dispatch, target=None) -> list:
        """The statement on ``cursor`` with ``params`` (``params()``'s), heard by the engine's cursor-execute
        listeners (``dispatch``; ``target`` the Connection, if any); its rows as SQLAlchemy reads them."""
        if dispatch.before_cursor_execute:
            dispatch.before_cursor_execute(target, cursor, self.sql, params, None, False)
        cursor.execute(self.sql, params)
        if dispatch.after_cursor_execute:
            dispatch.after_cursor_execute(target, cursor, self.sql, params, None, False)
        return self.columns.rows(cursor, self.make)

    def run(self, session: Session, values: dict) -> list:
        """The rows for ``values``, on the DB-API connection of the session's transaction."""
        params = self.params(values)
        conn = session.connection()
        dbapi_conn = conn.connection
        try:
            cursor = dbapi_conn.cursor()
            try:
                return self.read(cursor, params, conn.dispatch, conn)
            finally:
                cursor.close()
        except self.dialect.loaded_dbapi.Error as exc:
            lost = self.dialect.is_disconnect(exc, dbapi_conn.dbapi_connection, None)
            if lost:
                conn.invalidate(exc)
            raise DBAPIError.instance(self.sql, params, exc, self.dialect.loaded_dbapi.Error,
                                      connection_invalidated=lost, dialect=self.dialect) from exc

    def scalars(self, session: Session, values: dict) -> list:
        return [r[0] for r in self.run(session, values)]


class ResultColumns:
    """The result processors SQLAlchemy itself applies to a select's columns, for rows read straight from a DB-API
    cursor (issue 20: the verification's one read, ``certificates.services.read_public_record``, and the pool page's
    kept statements, ``KeptSelect``): looked up once, from the first cursor's description (the driver's types),
    then applied by position, so the values are those the ORM would give. ``lookup(impl, dialect, coltype)`` finds
    a column's processor (default: the type's own ``result_processor``; a caller may tabulate one)."""

    __slots__ = ("types", "dialect", "lookup", "processors")

    def __init__(self, types, dialect, lookup=None) -> None:
        self.types, self.dialect = list(types), dialect
        self.lookup = lookup or _result_processor
        self.processors: list | None = None

    def rows(self, cursor, make=tuple) -> list:
        """The rows of ``cursor`` (executed), each column processed, each row made by ``make``. The description is
        read only the first time: psycopg builds it anew on each access (39 objects for the verification's read)."""
        raw = cursor.fetchall()
        procs = self.processors
        if procs is None:  # once: the processors for these columns and the driver's types
            dialect = self.dialect
            procs = [(i, self.lookup(t.dialect_impl(dialect), dialect, d[1]))
                     for i, (t, d) in enumerate(zip(self.types, cursor.description))]
            procs = self.processors = [(i, p) for i, p in procs if p is not None]
        if not procs:
            return [make(r) for r in raw]
        out = []
        for r in raw:
            values = list(r)
            for i, p in procs:
                values[i] = p(values[i])
            out.append(make(values))
        return out


def _result_processor(impl, dialect, coltype):
    return impl.result_processor(dialect, coltype)


class KeptReturning(KeptSelect):
    """An INSERT or UPDATE … RETURNING kept as ``KeptSelect`` keeps a select (issue 20: the exam's autosave, whose two
    writes went through SQLAlchemy's per-execute work: cache key, compiled-cache lookup, execution context, result;
    ~50 Python calls a statement on SQLite, ~90 with psycopg, in bench.profile_exam). Its rows are those of the RETURNING clause; ``run``
    executes it on the DB-API connection of the session's transaction, which the caller opened for writing."""

    __slots__ = ()

    def __init__(self, stmt, dialect, *, lookup=None, make=tuple) -> None:
        returned = _Returned(stmt)
        super().__init__(returned, dialect, lookup=lookup, make=make)
        self._prefetched(returned.compiled)

    def _prefetched(self, compiled) -> None:
        """The columns a Python-side default fills (an INSERT's ``default``, an UPDATE's ``onupdate``): SQLAlchemy
        computes them in each execution's context; a constant one is kept with the statement, processed once, and a
        computed one (a callable, a SQL expression) refused: its value would be a run's."""
        for columns, attr in ((compiled.insert_prefetch, "default"), (compiled.update_prefetch, "onupdate")):
            for column in columns:
                default = getattr(column, attr)
                if not default.is_scalar or column.key not in self.fixed:
                    raise ValueError(f"{column} takes a value computed per run: name it in the statement's values")
                proc = column.type.dialect_impl(self.dialect).bind_processor(self.dialect)
                self.fixed[column.key] = proc(default.arg) if proc is not None else default.arg


class _Returned:
    """What ``KeptSelect`` reads of its statement, for a DML statement: its compilation (kept, for the defaults),
    and the RETURNING clause's columns as the ``selected_columns``."""

    __slots__ = ("stmt", "compiled")

    def __init__(self, stmt) -> None:
        self.stmt, self.compiled = stmt, None

    def compile(self, dialect):
        self.compiled = self.stmt.compile(dialect=dialect)
        return self.compiled

    @property
    def selected_columns(self):
        return self.stmt.exported_columns
