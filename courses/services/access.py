"""Who may do what in courses: the rules that pages, the API and templates share (never restated elsewhere)."""
from __future__ import annotations

from flask_babel import gettext as _

from courses.models import TrainingClass
from lms.domain import Role
from lms.errors import Forbidden


def require_role(user, *roles: Role) -> None:
    """Refuse (Forbidden) unless ``user`` has one of ``roles``."""
    if user is None or user.role not in roles:
        raise Forbidden(_("您没有执行此操作的权限"))


def is_class_staff(user, klass: TrainingClass) -> bool:
    """Is ``user`` staff of the institution that runs ``klass``: the one rule for who manages a class (roll, attendance,
    results, filings, certificates)."""
    return user.role == Role.institution_staff and user.institution_id == klass.institution_id


def require_class_staff(user, klass: TrainingClass, message: str | None = None) -> None:
    """Refuse (Forbidden) unless ``user`` is staff of the class's institution (``is_class_staff``)."""
    if not is_class_staff(user, klass):
        raise Forbidden(message or _("只有开班机构的工作人员可以进行此操作"))
