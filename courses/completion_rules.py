"""The completion rules courses owns: attendance over the whole timetable, and every lesson of the class's
content (the programme's required courses as the class froze them) completed. Certificates ask ``lms.completion.check`` without importing us; ``courses.wiring`` registers them."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy.orm import Session

from courses.attendance import attendance_rate
from courses.models import Enrollment
from courses.services.snapshot import class_progress
from lms.completion import RuleResult
from lms.settingbasis import basis_label


def attendance_rule(session: Session, enrollment: Enrollment) -> RuleResult:
    """Met when the rate over the whole timetable reaches the programme's minimum."""
    programme = enrollment.training_class.programme
    rate = attendance_rate(session, enrollment, so_far=False)
    need = programme.min_attendance_rate
    return RuleResult("attendance", _("出勤率达标"), rate >= need,
                      _("出勤率 %(r)s，要求不低于 %(n)s", r=f"{rate:.0%}", n=f"{need:.0%}")
                      + basis_label(session, programme, "min_attendance_rate"))


def lessons_rule(session: Session, enrollment: Enrollment) -> RuleResult:
    """Met when every lesson of the class's content (its snapshot of the programme's required courses, issue 17)
    is completed."""
    progress = class_progress(session, enrollment.user, enrollment.training_class)
    total = sum(p.total for p in progress)
    done = sum(p.completed for p in progress)
    missing = [p.course.title for p in progress if p.completed < p.total]
    detail = _("已学完 %(d)d / %(t)d 个课时", d=done, t=total)
    if missing:
        detail += _("；未学完：%(c)s", c="、".join(missing))
    return RuleResult("lessons", _("必修课程学完"), done >= total, detail)
