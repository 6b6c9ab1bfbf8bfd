"""Classes (培训班) and their timetable of sessions."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.models import AttendanceRecord, ClassSession, PlanLine, PlanStatus, Programme, TrainingClass
from courses.services.access import require_class_staff, require_role
from courses.services.enrolment import approved_count, promote_waitlist
from courses.services.plans import open_lines, programme_applies
from courses.services.snapshot import freeze_lessons
from lms import audit
from lms.db import utcnow
from lms.domain import Role
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.orgs.models import Region
from lms.templating import SHANGHAI


@dataclass
class ClassData:
    programme_id: int
    region_id: int
    name: str
    place: str
    start_date: dt.date | None
    end_date: dt.date | None
    capacity: int | None
    enrol_opens_on: dt.date | None
    enrol_closes_on: dt.date | None
    teachers: str = ""  # one a line; filed with the bureau
    plan_line_id: int | None = None  # the line of its city's published plan it is opened against (issue 15)


@dataclass(frozen=True)
class HoursShort:
    """A class whose timetable does not reach its programme's hours (issue 15)."""

    timetable: float
    programme: float

    @property
    def message(self) -> str:
        return _("课表合计 %(have)g 学时，未达到培训方案规定的 %(need)g 学时", have=self.timetable, need=self.programme)


def hours_short(klass: TrainingClass) -> HoursShort | None:
    """The class's timetable hours against its programme's, when they fall short (the one computation every
    page and the API show)."""
    have = round(sum(s.hours for s in klass.sessions), 1)
    need = round(klass.programme.total_hours or 0, 1)
    return HoursShort(have, need) if have < need else None


def _line_errors(session: Session, data: ClassData, region: Region | None, programme: Programme | None,
                 errors: dict) -> PlanLine | None:
    """The plan line checked (a line of the published plan of the class's city) and the programme checked
    against the class's region and the line's industry."""
    line = None
    if data.plan_line_id:
        line = session.get(PlanLine, data.plan_line_id)
        if line is None or region is None or line.plan.status != PlanStatus.published or \
                line.id not in {ln.id for ln in open_lines(session, region)}:
            errors["plan_line_id"] = _("计划行须为本市已发布培训计划中的一行")
            line = None
    if programme is not None and region is not None and "programme_id" not in errors and \
            not programme_applies(programme, region, line.industry if line else ""):
        errors["programme_id"] = _("该培训方案不适用于所选办班地区或行业")
    return line


def save_class(session: Session, actor, data: ClassData, today: dt.date, klass: TrainingClass | None = None) -> TrainingClass:
    """Open (or edit) a class. Only institution staff, only for a programme of their institution's province,
    in their institution's region or below, for a tier the institution is authorised for on the start date."""
    require_role(actor, Role.institution_staff)
    inst = actor.institution
    if inst is None or not inst.is_active:
        raise Forbidden(_("您的账号未关联有效的培训机构"))
    errors: dict[str, str] = {}
    programme = session.get(Programme, data.programme_id)
    if programme is None:
        errors["programme_id"] = _("请选择培训方案")
    elif not inst.region.path.startswith(programme.province.path):
        errors["programme_id"] = _("只能开设本省的培训方案")
    region = session.get(Region, data.region_id)
    if region is None or not region.path.startswith(inst.region.path):
        errors["region_id"] = _("办班地区须为本机构所在地区或其下级地区")
    if not (data.name or "").strip():
        errors["name"] = _("请填写培训班名称")
    if not (data.place or "").strip():
        errors["place"] = _("请填写培训地点")
    if len(data.teachers or "") > 2000:
        errors["teachers"] = _("授课教师不能超过 2000 字")
    if not data.capacity or not 1 <= data.capacity <= 1000:
        errors["capacity"] = _("招收人数须在 1 到 1000 之间")
    dates = ("start_date", "end_date", "enrol_opens_on", "enrol_closes_on")
    for f in dates:
        if getattr(data, f) is None:
            errors[f] = _("请填写日期")
    if not any(f in errors for f in dates):
        if data.end_date < data.start_date:
            errors["end_date"] = _("结束日期不能早于开始日期")
        if data.enrol_closes_on < data.enrol_opens_on:
            errors["enrol_closes_on"] = _("报名截止日不能早于报名开始日")
        if data.enrol_closes_on > data.end_date:
            errors["enrol_closes_on"] = _("报名截止日不能晚于结束日期")
        if klass is None and data.start_date < today:
            errors["start_date"] = _("开始日期不能早于今天")
        if programme and "programme_id" not in errors and not inst.authorised_for(programme.tier, data.start_date):
            errors["programme_id"] = _("本机构在 %(d)s 没有%(tier)s层级的培训授权", d=data.start_date.isoformat(),
                                       tier=programme.tier.label)
    if klass is not None and data.capacity and data.capacity < approved_count(session, klass):
        errors["capacity"] = _("招收人数不能少于已录取的 %(n)d 人", n=approved_count(session, klass))
    line = _line_errors(session, data, region, programme, errors)
    if errors:
        raise ValidationFailed(errors)
    new_content = klass is None or klass.programme_id != programme.id
    if klass is None:
        klass = TrainingClass(institution_id=inst.id)
        session.add(klass)
    klass.programme_id, klass.region_id = programme.id, region.id
    klass.name, klass.place, klass.capacity = data.name.strip(), data.place.strip(), data.capacity
    klass.start_date, klass.end_date = data.start_date, data.end_date
    klass.enrol_opens_on, klass.enrol_closes_on = data.enrol_opens_on, data.enrol_closes_on
    klass.teachers = (data.teachers or "").strip()
    klass.plan_line_id = line.id if line else None
    session.flush()
    if new_content:  # the class keeps this snapshot of its programme's lessons (issue 17)
        freeze_lessons(session, klass, utcnow())
    audit.record(session, actor, "class.save", klass, tier=programme.tier.value)
    if klass.capacity > approved_count(session, klass):
        promote_waitlist(session, actor, klass)
    return klass


@dataclass
class SessionData:
    date: dt.date | None
    start_time: dt.time | None
    end_time: dt.time | None
    place: str
    topic: str
    course_id: int | None
    hours: float | None = None


def add_session(session: Session, actor, klass: TrainingClass, data: SessionData) -> ClassSession:
    """Add a timetabled session within the class dates; times are Beijing time. Hours default to the
    session's length in hours (45-minute class hours are a province's choice: type them)."""
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以修改本培训班"))
    errors = {}
    if data.date is None:
        errors["date"] = _("请填写日期")
    elif not klass.start_date <= data.date <= klass.end_date:
        errors["date"] = _("日期须在培训班起止日期（%(a)s 至 %(b)s）之内", a=klass.start_date, b=klass.end_date)
    if data.start_time is None:
        errors["start_time"] = _("请填写开始时间")
    if data.end_time is None:
        errors["end_time"] = _("请填写结束时间")
    elif data.start_time and data.end_time <= data.start_time:
        errors["end_time"] = _("结束时间须晚于开始时间")
    if not (data.topic or "").strip():
        errors["topic"] = _("请填写授课主题")
    if data.course_id and data.course_id not in [c.id for c in klass.programme.courses]:
        errors["course_id"] = _("课程须属于本培训班的培训方案")
    if data.hours is not None and not 0 < data.hours <= 12:
        errors["hours"] = _("学时须在 0.5 到 12 之间")
    if errors:
        raise ValidationFailed(errors)
    starts = dt.datetime.combine(data.date, data.start_time, SHANGHAI).astimezone(dt.timezone.utc)
    ends = dt.datetime.combine(data.date, data.end_time, SHANGHAI).astimezone(dt.timezone.utc)
    hours = data.hours if data.hours else round((ends - starts).total_seconds() / 3600, 1)
    cs = ClassSession(class_id=klass.id, starts_at=starts, ends_at=ends, hours=hours,
                      place=(data.place or klass.place).strip(), topic=data.topic.strip(), course_id=data.course_id or None)
    session.add(cs)
    session.flush()
    session.refresh(klass, ["sessions"])
    audit.record(session, actor, "class_session.add", cs, class_id=klass.id)
    return cs


def delete_session(session: Session, actor, cs: ClassSession) -> None:
    """Remove a session that has no attendance recorded yet."""
    require_class_staff(actor, cs.training_class, message=_("只有开班机构的工作人员可以修改本培训班"))
    if session.scalar(select(func.count(AttendanceRecord.id)).where(AttendanceRecord.session_id == cs.id)):
        raise DomainError(_("该课次已有考勤记录，不能删除"))
    klass = cs.training_class
    audit.record(session, actor, "class_session.delete", cs, class_id=klass.id)
    session.delete(cs)
    session.flush()
    session.refresh(klass, ["sessions"])
