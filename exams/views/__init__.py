"""Exam pages, one module per topic: question banks (``banks``), exams and their blueprints (``manage``),
results, attempts and offline results (``results``), grading (``grading``) and the trainee's side
(``trainee``). This package creates the blueprint and the helpers the topics share; ``exams.wiring`` imports
the topic modules, which add their routes to ``bp``. Thin: parse, call one service or query, render."""
from __future__ import annotations

import datetime as dt
from functools import wraps
from pathlib import Path

from flask import Blueprint, flash, request

from lms.db import db, reads_first
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.templating import SHANGHAI

bp = Blueprint("exams", __name__, url_prefix="/exams", root_path=str(Path(__file__).resolve().parent.parent),
               template_folder="templates", static_folder="static", static_url_path="/static")
STAFF = (Role.institution_staff, Role.regulator_admin, Role.system_admin)
MANAGERS = (Role.institution_staff, Role.system_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def search_text() -> str:
    """The list's search box (``?q=``), trimmed."""
    return (request.args.get("q") or "").strip()[:64]


def utc_from_local(value: dt.datetime | None) -> dt.datetime | None:
    """A naive date-time typed in China's time, as aware UTC."""
    return value.replace(tzinfo=SHANGHAI).astimezone(dt.timezone.utc) if value else None


def reading_first(view):
    """For the hot paths (start, autosave, submit): the whole request, the login's look-ups included, reads in
    deferred transactions (``lms.db.reads_first``); the view writes with ``lms.db.write_phase``. Put it above
    ``roles_required`` so that the user is loaded inside it."""
    @wraps(view)
    def wrapper(*args, **kwargs):
        with reads_first(db.session):
            return view(*args, **kwargs)

    return wrapper


def flashed(message: str, url: str) -> str:
    """``url``, once ``message`` is flashed: for ``lms.forms.submit``'s ``redirect_to`` when the success
    message depends on the service's result (it runs after the commit)."""
    flash(message, "success")
    return url


def all_or_nothing(action, failed):
    """Run an import that applies every row or none; a refusal says so (``failed(reason)``) before the reason."""
    try:
        return action()
    except ValidationFailed as exc:
        raise DomainError(failed(exc.message))
