"""What the profilers hear of an engine's statements (``bench.profile_*``)."""
from __future__ import annotations

from sqlalchemy import event


class StatementSpy:
    """A context manager that hears every statement on ``engine`` while it is open, through SQLAlchemy's
    ``before_cursor_execute`` and ``after_cursor_execute`` events: a subclass defines ``_before`` and ``_after``
    (the events' arguments) and what it keeps of them."""

    def __init__(self, engine):
        self.engine = engine

    def _before(self, conn, cursor, statement, params, context, executemany):
        pass

    def _after(self, conn, cursor, statement, params, context, executemany):
        pass

    def __enter__(self):
        event.listen(self.engine, "before_cursor_execute", self._before)
        event.listen(self.engine, "after_cursor_execute", self._after)
        return self

    def __exit__(self, *exc):
        event.remove(self.engine, "before_cursor_execute", self._before)
        event.remove(self.engine, "after_cursor_execute", self._after)
