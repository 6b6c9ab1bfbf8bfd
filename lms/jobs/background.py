"""The one runner for long work started by a request: issuing a class's certificates, applying an import, a job
run from the admin page. The request records what is to be done (a row with a status and progress that the
page polls), then ``launch`` works through it in a daemon thread with its own app context and sessions, as a
writer (on SQLite its transactions take the write lock when they begin, see ``lms.db``). The work must be safe to
run again: a restart leaves it half done, and the next launch continues where it stopped. With the config key
``BACKGROUND_INLINE`` (tests, the benchmark's inline mode) the work runs in the request instead."""
from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from flask import Flask
from sqlalchemy.orm import Session

from lms.db import as_writer

log = logging.getLogger("lms.jobs")

Work = Callable[..., Any]  # work(session_factory, *args) -> result


def run(app: Flask, name: str, work: Work, *args) -> Any:
    """Run ``work(session_factory, *args)`` here and now, as a writer; failures are logged and re-raised."""
    try:
        with as_writer(), app.app_context():
            factory: Callable[[], Session] = app.extensions["lms_db"].sessionmaker
            return work(factory, *args)
    except Exception:
        log.exception("background work %s failed", name)
        raise


def launch(app: Flask, name: str, work: Work, *args) -> threading.Thread | None:
    """Start ``work(session_factory, *args)`` in a daemon thread (or run it inline under ``BACKGROUND_INLINE``,
    returning None). The work records its own progress and outcome; an exception is logged, never lost."""
    if app.config["BACKGROUND_INLINE"]:
        run(app, name, work, *args)
        return None

    def target() -> None:
        try:
            run(app, name, work, *args)
        except Exception:  # already logged by run(); a thread has no caller to raise to
            pass

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread



