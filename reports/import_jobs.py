"""Applying an accepted import in the background: chunks of rows, each committed with the new ``done`` count,
so the progress bar tells the truth and a run stopped by a restart continues where it stopped."""
from __future__ import annotations

import logging
import threading
import time
from typing import Callable

from flask_babel import gettext as _
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from courses.models import TrainingClass
from lms.auth.models import User
from lms.db import utcnow
from lms.errors import DomainError
from reports.imports import apply_rows
from reports.models import ResultImport

log = logging.getLogger("reports")
CHUNK = 250


def _with_retry(fn: Callable[[], None], attempts: int = 6) -> None:
    for i in range(attempts):
        try:
            return fn()
        except OperationalError:  # SQLite: another writer holds the lock for a moment
            if i == attempts - 1:
                raise
            time.sleep(0.05 * (2 ** i))


def process_import(session_factory: Callable[[], Session], import_id: int) -> dict:
    """Apply a queued import chunk by chunk; each chunk commits its rows with the new ``done`` count, so the
    progress is true and a re-run after a crash continues where it stopped."""
    with session_factory() as s:
        imp = s.get(ResultImport, import_id)
        if imp.status in ("done", "failed"):
            return progress(imp)
        imp.status = "running"
        s.commit()
    while True:
        finished = []

        def chunk():
            with session_factory() as s:
                imp = s.get(ResultImport, import_id)
                items = imp.plan[imp.done:imp.done + CHUNK]
                if not items:
                    imp.status, imp.finished_at = "done", utcnow()
                    s.commit()
                    finished.append(True)
                    return
                actor = s.get(User, imp.user_id)
                klass = s.get(TrainingClass, imp.class_id)
                try:
                    apply_rows(s, actor, klass, items, utcnow())
                except DomainError as exc:
                    s.rollback()
                    imp = s.get(ResultImport, import_id)
                    imp.status, imp.message, imp.finished_at = "failed", exc.message, utcnow()
                    s.commit()
                    finished.append(True)
                    return
                imp.done += len(items)
                s.commit()

        try:
            _with_retry(chunk)
        except Exception:
            log.exception("result import %s failed", import_id)
            with session_factory() as s:
                imp = s.get(ResultImport, import_id)
                imp.status, imp.message, imp.finished_at = "failed", _("系统错误，请稍后重试"), utcnow()
                s.commit()
            finished.append(True)
        if finished:
            break
    with session_factory() as s:
        return progress(s.get(ResultImport, import_id))


def progress(imp: ResultImport) -> dict:
    return {"import_id": imp.id, "status": imp.status, "total": imp.total, "done": imp.done,
            "percent": round(100 * imp.done / imp.total) if imp.total else 100, "message": imp.message,
            "attendance": (imp.summary or {}).get("attendance", 0), "scores": (imp.summary or {}).get("scores", 0)}


def run_in_thread(app, import_id: int) -> threading.Thread:
    from lms.db import db

    def target():
        with app.app_context():
            try:
                process_import(db._state().sessionmaker, import_id)
            except Exception:
                log.exception("result import %s failed", import_id)

    t = threading.Thread(target=target, name=f"results-import-{import_id}", daemon=True)
    t.start()
    return t
