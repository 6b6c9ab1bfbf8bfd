"""Reporting pages. This package creates the blueprint; each topic module adds its routes to it and
``reports.wiring`` imports them: ``filings`` (lists, class filings), ``results`` (results reports and offline
imports), ``annual`` (annual work reports), ``regulator`` (dashboard, targets, the province's rules) and
``home`` (navigation and home panels, registered by the wiring)."""
from __future__ import annotations

from pathlib import Path

from flask import Blueprint
from flask_login import current_user

from courses.models import TrainingClass
from lms.db import db
from lms.domain import Role
from lms.scoping import get_visible

# The package's templates/ and static/ sit beside views/, in reports/.
bp = Blueprint("reports", __name__, root_path=str(Path(__file__).resolve().parent.parent), template_folder="templates",
               static_folder="static", static_url_path="/reports/static")
STAFF = Role.institution_staff
BUREAU = Role.regulator_admin
READERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def visible_class(class_id: int) -> TrainingClass:
    """The class, if the current user may see it (else 404, audited)."""
    return get_visible(db.session, TrainingClass, class_id, current_user)
