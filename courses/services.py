"""Programmes, courses and lessons, classes and their timetable.

Enrolment lives in ``courses.enrolment``, attendance in ``courses.checkin`` (split by concept)."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import markdown as md
import nh3
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses import eligibility
from courses.models import (
    ClassSession, Course, EligibilityRuleSet, Enrollment, EnrollmentStatus, Lesson, LessonKind, LessonProgress,
    Programme, SubjectCategory, TrainingClass,
)
from lms import audit
from lms.domain import RegionLevel, Role, Tier
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.orgs.models import Region
from lms.templating import SHANGHAI
from lms.uploads import StoredFile

VIDEO_MAX_BYTES = 60 * 1024 * 1024  # under the site-wide MAX_CONTENT_LENGTH (64 MB), which the body parser enforces
PDF_MAX_BYTES = 20 * 1024 * 1024
VIDEO_DONE_SHARE = 0.9  # a video counts as completed once 90% of it has been watched

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s", "blockquote",
    "ul", "ol", "li", "code", "pre", "a", "table", "thead", "tbody", "tr", "th", "td", "img", "sup", "sub",
}


def is_class_staff(user, klass: TrainingClass) -> bool:
    """Is ``user`` staff of the institution that runs ``klass``: the one rule for who manages a class (roll, attendance,
    results, filings, certificates)."""
    return user.role == Role.institution_staff and user.institution_id == klass.institution_id


def require_class_staff(user, klass: TrainingClass, message: str | None = None) -> None:
    """Refuse (Forbidden) unless ``user`` is staff of the class's institution (``is_class_staff``)."""
    if not is_class_staff(user, klass):
        raise Forbidden(message or _("只有开班机构的工作人员可以进行此操作"))


def render_markdown(text: str) -> str:
    """Markdown → HTML, sanitised with nh3: scripts, event handlers, styles and ``javascript:`` links go;
    links get rel=noopener noreferrer."""
    html = md.markdown(text or "", extensions=["tables", "sane_lists"])
    return nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={"a": {"href", "title"}, "img": {"src", "alt", "title"}, "th": {"align"}, "td": {"align"}},
        url_schemes={"http", "https", "mailto"},
        link_rel="noopener noreferrer",
    )


def _require(user, *roles: Role) -> None:
    if user is None or user.role not in roles:
        raise Forbidden(_("您没有执行此操作的权限"))


# ------------------------------------------------------------------ programmes
@dataclass
class ProgrammeData:
    province_id: int
    tier: str
    year: int
    name: str
    pass_mark: float
    min_attendance_rate: float  # 0..1
    certificate_validity_years: int
    requires_lower_tier: bool
    eligibility_rule_set_id: int | None
    course_ids: list[int] = field(default_factory=list)


def save_programme(session: Session, actor, data: ProgrammeData, programme: Programme | None = None) -> Programme:
    """Create or update a programme. Province admins edit their own province's; total hours are the sum
    of the courses' hours. One programme per province, tier and year."""
    _require(actor, Role.regulator_admin, Role.system_admin)
    errors: dict[str, str] = {}
    province = session.get(Region, data.province_id)
    if province is None or province.level != RegionLevel.province:
        errors["province_id"] = _("请选择省份")
    elif actor.role == Role.regulator_admin and not actor.region.path.startswith(province.path):
        errors["province_id"] = _("只能为本省制定培训方案（须为省级监管部门管理员）")
    if actor.role == Role.regulator_admin and actor.region.level != RegionLevel.province:
        errors["province_id"] = _("只能为本省制定培训方案（须为省级监管部门管理员）")
    try:
        tier = Tier(data.tier)
    except ValueError:
        errors["tier"] = _("请选择培训层级")
        tier = None
    if not 2000 <= (data.year or 0) <= 2100:
        errors["year"] = _("年度须在 2000 到 2100 之间")
    if not (data.name or "").strip():
        errors["name"] = _("请填写方案名称")
    if not 0 < (data.pass_mark or 0) <= 100:
        errors["pass_mark"] = _("合格分数须在 1 到 100 之间")
    if not 0 < (data.min_attendance_rate or 0) <= 1:
        errors["min_attendance_rate"] = _("最低出勤率须在 1% 到 100% 之间")
    if not 1 <= (data.certificate_validity_years or 0) <= 10:
        errors["certificate_validity_years"] = _("证书有效期须为 1 到 10 年")
    rule_set = session.get(EligibilityRuleSet, data.eligibility_rule_set_id) if data.eligibility_rule_set_id else None
    if data.eligibility_rule_set_id and (rule_set is None or (province and rule_set.province_id != province.id)):
        errors["eligibility_rule_set_id"] = _("报名条件规则集须属于同一省份")
    courses = list(session.scalars(select(Course).where(Course.id.in_(data.course_ids or [])))) if data.course_ids else []
    if not courses:
        errors["course_ids"] = _("请至少选择一门课程")
    if not errors and tier is not None:
        clash = session.scalar(select(Programme.id).where(
            Programme.province_id == province.id, Programme.tier == tier, Programme.year == data.year))
        if clash and (programme is None or clash != programme.id):
            errors["year"] = _("%(year)d 年度该省已有%(tier)s层级的培训方案", year=data.year, tier=tier.label)
    if errors:
        raise ValidationFailed(errors)
    if programme is None:
        programme = Programme(province_id=province.id)
        session.add(programme)
    programme.province_id = province.id
    programme.tier = tier
    programme.year = data.year
    programme.name = data.name.strip()
    programme.pass_mark = data.pass_mark
    programme.min_attendance_rate = data.min_attendance_rate
    programme.certificate_validity_years = data.certificate_validity_years
    programme.requires_lower_tier = bool(data.requires_lower_tier)
    programme.eligibility_rule_set_id = rule_set.id if rule_set else None
    programme.courses = courses
    programme.total_hours = round(sum(c.hours for c in courses), 1)
    session.flush()
    audit.record(session, actor, "programme.save", programme, tier=tier.value, year=data.year)
    return programme


def save_rule_set(session: Session, actor, province: Region, name: str, rules, rule_set: EligibilityRuleSet | None = None) -> EligibilityRuleSet:
    """Create or update a province's eligibility rule set after checking its structure."""
    _require(actor, Role.regulator_admin, Role.system_admin)
    if actor.role == Role.regulator_admin and not (
        actor.region.level == RegionLevel.province and actor.region.path == province.path
    ):
        raise Forbidden(_("只有本省省级监管部门可以修改报名条件"))
    if not (name or "").strip():
        raise ValidationFailed({"name": _("请填写规则集名称")})
    eligibility.validate_rules(rules)
    if rule_set is None:
        rule_set = EligibilityRuleSet(province_id=province.id)
        session.add(rule_set)
    rule_set.name = name.strip()
    rule_set.rules = rules
    session.flush()
    audit.record(session, actor, "eligibility_rules.save", rule_set)
    return rule_set


# ------------------------------------------------------------------ courses and lessons
@dataclass
class CourseData:
    code: str
    title: str
    hours: float
    subject_category: str
    description: str = ""
    compulsory: bool = True


def save_course(session: Session, actor, data: CourseData, course: Course | None = None) -> Course:
    """Create or update a course (institution staff and admins)."""
    _require(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    errors = {}
    code = (data.code or "").strip().upper()
    if not code or len(code) > 32:
        errors["code"] = _("请填写 1-32 位课程代码")
    elif (other := session.scalar(select(Course.id).where(Course.code == code))) and (course is None or other != course.id):
        errors["code"] = _("课程代码 %(c)s 已被使用", c=code)
    if not (data.title or "").strip():
        errors["title"] = _("请填写课程名称")
    if not 0 < (data.hours or 0) <= 200:
        errors["hours"] = _("学时须在 0.5 到 200 之间")
    try:
        category = SubjectCategory(data.subject_category)
    except ValueError:
        errors["subject_category"] = _("请选择科目类别")
        category = None
    if errors:
        raise ValidationFailed(errors)
    if course is None:
        course = Course(code=code)
        session.add(course)
    course.code, course.title, course.hours = code, data.title.strip(), data.hours
    course.subject_category, course.description, course.compulsory = category, data.description or "", bool(data.compulsory)
    session.flush()
    audit.record(session, actor, "course.save", course)
    return course


def add_lesson(session: Session, actor, course: Course, *, title: str, kind: str, body_md: str = "",
               file: StoredFile | None = None, minutes: int = 0) -> Lesson:
    """Append a lesson to a course. A text lesson needs its Markdown; a video or PDF lesson needs a stored
    file of the matching kind (``lms.uploads.store_upload`` checks content and size before this)."""
    _require(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    errors = {}
    if not (title or "").strip():
        errors["title"] = _("请填写课时标题")
    try:
        lk = LessonKind(kind)
    except ValueError:
        errors["kind"] = _("请选择课时类型")
        lk = None
    if lk == LessonKind.text and not (body_md or "").strip():
        errors["body_md"] = _("图文课时须填写正文")
    if lk == LessonKind.video and (file is None or file.kind not in ("mp4", "webm")):
        errors["file"] = _("视频课时须上传 MP4 或 WebM 视频")
    if lk == LessonKind.pdf and (file is None or file.kind != "pdf"):
        errors["file"] = _("PDF 课时须上传 PDF 文件")
    if errors:
        raise ValidationFailed(errors)
    position = (session.scalar(select(func.max(Lesson.position)).where(Lesson.course_id == course.id)) or 0) + 1
    lesson = Lesson(course_id=course.id, position=position, title=title.strip(), kind=lk, body_md=body_md or "",
                    file_id=file.id if file else None, minutes=max(0, minutes or 0))
    session.add(lesson)
    session.flush()
    audit.record(session, actor, "lesson.add", lesson, course_id=course.id)
    return lesson


def move_lesson(session: Session, actor, lesson: Lesson, offset: int) -> Lesson:
    """Move a lesson up (-1) or down (+1) in its course; positions stay 1..n without gaps."""
    _require(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    lessons = list(lesson.course.lessons)
    i = lessons.index(lesson)
    j = i + (1 if offset > 0 else -1)
    if 0 <= j < len(lessons):
        lessons[i], lessons[j] = lessons[j], lessons[i]
    for pos, les in enumerate(lessons, 1):
        les.position = pos
    session.flush()
    session.refresh(lesson.course, ["lessons"])
    audit.record(session, actor, "lesson.move", lesson, position=lesson.position)
    return lesson


def delete_lesson(session: Session, actor, lesson: Lesson) -> None:
    """Remove a lesson nobody has opened yet (trainees' progress is a record that must stay)."""
    _require(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    if session.scalar(select(func.count(LessonProgress.id)).where(LessonProgress.lesson_id == lesson.id)):
        raise DomainError(_("已有学员学习该课时，不能删除"))
    course = lesson.course
    audit.record(session, actor, "lesson.delete", lesson, course_id=course.id)
    session.delete(lesson)
    session.flush()
    for pos, les in enumerate(sorted((x for x in course.lessons if x is not lesson), key=lambda x: x.position), 1):
        les.position = pos
    session.flush()
    session.refresh(course, ["lessons"])


def open_lesson(session: Session, user, lesson: Lesson, now: dt.datetime) -> LessonProgress:
    """Record that a trainee opened a lesson (first time only); others' views are not recorded."""
    prog = session.scalar(select(LessonProgress).where(LessonProgress.lesson_id == lesson.id,
                                                       LessonProgress.user_id == user.id))
    if prog is None:
        prog = LessonProgress(lesson_id=lesson.id, user_id=user.id, opened_at=now, watched_share=0.0)
        session.add(prog)
        session.flush()
    return prog


def record_progress(session: Session, user, lesson: Lesson, now: dt.datetime, *, watched_share: float | None = None,
                    completed: bool = False) -> LessonProgress:
    """Update a trainee's progress. For a video the share watched only grows (scrubbing back doesn't undo
    it) and reaching 90% completes it; a text or PDF lesson is completed when the trainee says so."""
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员的学习进度会被记录"))
    prog = open_lesson(session, user, lesson, now)
    if watched_share is not None:
        try:
            share = float(watched_share)
        except (TypeError, ValueError):
            raise ValidationFailed({"watched_share": _("观看比例须为 0 到 1 之间的数字")})
        if not 0 <= share <= 1:
            raise ValidationFailed({"watched_share": _("观看比例须为 0 到 1 之间的数字")})
        prog.watched_share = max(prog.watched_share or 0.0, round(share, 4))
        if lesson.kind == LessonKind.video and prog.watched_share >= VIDEO_DONE_SHARE and prog.completed_at is None:
            prog.completed_at = now
    if completed:
        if lesson.kind == LessonKind.video and (prog.watched_share or 0) < VIDEO_DONE_SHARE:
            raise DomainError(_("视频须观看至少 %(p)d%% 才算学完", p=int(VIDEO_DONE_SHARE * 100)))
        if prog.completed_at is None:
            prog.completed_at = now
    session.flush()
    return prog


def progress_map(session: Session, user, lesson_ids: list[int]) -> dict[int, LessonProgress]:
    if not lesson_ids:
        return {}
    rows = session.scalars(select(LessonProgress).where(LessonProgress.user_id == user.id,
                                                         LessonProgress.lesson_id.in_(lesson_ids)))
    return {p.lesson_id: p for p in rows}


@dataclass
class CourseProgress:
    course: Course
    total: int
    completed: int

    @property
    def share(self) -> float:
        return self.completed / self.total if self.total else 0.0


def programme_progress(session: Session, user, programme: Programme) -> list[CourseProgress]:
    """Lessons completed per required course of the programme."""
    out = []
    for course in programme.required_courses:
        ids = [les.id for les in course.lessons]
        done = sum(1 for p in progress_map(session, user, ids).values() if p.completed_at)
        out.append(CourseProgress(course, len(ids), done))
    return out


# ------------------------------------------------------------------ classes and their timetable
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


def save_class(session: Session, actor, data: ClassData, today: dt.date, klass: TrainingClass | None = None) -> TrainingClass:
    """Open (or edit) a class. Only institution staff, only for a programme of their institution's province,
    in their institution's region or below, for a tier the institution is authorised for on the start date."""
    _require(actor, Role.institution_staff)
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
    if errors:
        raise ValidationFailed(errors)
    if klass is None:
        klass = TrainingClass(institution_id=inst.id)
        session.add(klass)
    klass.programme_id, klass.region_id = programme.id, region.id
    klass.name, klass.place, klass.capacity = data.name.strip(), data.place.strip(), data.capacity
    klass.start_date, klass.end_date = data.start_date, data.end_date
    klass.enrol_opens_on, klass.enrol_closes_on = data.enrol_opens_on, data.enrol_closes_on
    klass.teachers = (data.teachers or "").strip()
    session.flush()
    audit.record(session, actor, "class.save", klass, tier=programme.tier.value)
    if klass.capacity > approved_count(session, klass):
        from courses.enrolment import promote_waitlist

        promote_waitlist(session, actor, klass)
    return klass


def approved_count(session: Session, klass: TrainingClass) -> int:
    return session.scalar(select(func.count(Enrollment.id)).where(
        Enrollment.class_id == klass.id, Enrollment.status == EnrollmentStatus.approved)) or 0


def _require_own_class(actor, klass: TrainingClass) -> None:
    if actor.role != Role.institution_staff or actor.institution_id != klass.institution_id:
        raise Forbidden(_("只有开班机构的工作人员可以修改本培训班"))


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
    _require_own_class(actor, klass)
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
    from courses.models import AttendanceRecord

    _require_own_class(actor, cs.training_class)
    if session.scalar(select(func.count(AttendanceRecord.id)).where(AttendanceRecord.session_id == cs.id)):
        raise DomainError(_("该课次已有考勤记录，不能删除"))
    klass = cs.training_class
    audit.record(session, actor, "class_session.delete", cs, class_id=klass.id)
    session.delete(cs)
    session.flush()
    session.refresh(klass, ["sessions"])
