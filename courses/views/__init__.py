"""Pages of courses, split by topic: ``programmes``, ``catalogue`` (courses and lessons), ``classes``,
``enrolment``, ``attendance`` (roster, marking, import) and ``checkin`` (projector and the trainee's phone).

This package creates the blueprint the topic modules add their routes to; ``courses.wiring`` imports them."""
from __future__ import annotations

from flask import Blueprint, request

from lms.domain import Role

# Named after the package (not this module), so that templates/ and static/ are found beside the views.
bp = Blueprint("courses", "courses", url_prefix="/courses", template_folder="templates", static_folder="static")
ADMINS = (Role.regulator_admin, Role.system_admin)
AUTHORS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)
STAFF = (Role.institution_staff,)
VIEWERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)


def q_arg() -> str:
    """The list's search text, trimmed to 64 characters."""
    return (request.args.get("q") or "").strip()[:64]
