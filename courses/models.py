"""Training: programmes (the rules, as data), courses and lessons, classes, sessions, enrolments, attendance.

The columns here are the contract other packages build on (exams, certificates, reports); extend freely,
rename carefully."""
from __future__ import annotations

import datetime as dt

from sqlalchemy import (JSON, Boolean, Column, Date, Float, ForeignKey, Integer, String, Table, Text, UniqueConstraint,
                        false, select)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.auth.models import User
from lms.db import Base, UTCDateTime, utcnow
from lms.domain import LabelledEnum, RegionLevel, Role, Tier, enum_column_type
from lms.orgs.models import Institution, Region, region_subtree_ids
from lms.people.models import TraineeProfile, add_staff_profile_rule
from lms.scoping import scope_rule, write_rule
from lms.uploads import StoredFile
from flask_babel import lazy_gettext as _l

programme_courses = Table(
    "programme_courses",
    Base.metadata,
    Column("programme_id", ForeignKey("programmes.id", ondelete="CASCADE"), primary_key=True),
    Column("course_id", ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True),
)


class EnrollmentStatus(LabelledEnum):
    applied = "applied"
    approved = "approved"
    waitlisted = "waitlisted"
    rejected = "rejected"
    withdrawn = "withdrawn"

    @classmethod
    def _labels(cls):
        return {"applied": _l("待审核"), "approved": _l("已录取"), "waitlisted": _l("候补"),
                "rejected": _l("未录取"), "withdrawn": _l("已退出")}


class Programme(Base):
    """A tier's training programme in a province for a year, with the rules that vary by province."""

    __tablename__ = "programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    tier: Mapped[Tier] = mapped_column(enum_column_type(Tier))
    year: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(128))
    total_hours: Mapped[float] = mapped_column(Float, default=0)
    pass_mark: Mapped[float] = mapped_column(Float, default=60)
    min_attendance_rate: Mapped[float] = mapped_column(Float, default=0.8)  # share of the hours, 0..1
    # Years a certificate is valid: a province setting (本省自定); None (the default): no end date (issue 14: no seed
    # sets a validity)
    certificate_validity_years: Mapped[int | None] = mapped_column(Integer)
    requires_lower_tier: Mapped[bool] = mapped_column(Boolean, default=True)
    eligibility_rule_set_id: Mapped[int | None] = mapped_column(ForeignKey("eligibility_rule_sets.id"))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Video study (学时真实, issue 17), settings of the province (no seed states them: 示例 until it says why):
    # the share of a video that completes it, whether seeking past the furthest point watched is refused, and the
    # mean minutes between attention checks (防挂机; None: no checks).
    video_done_pct: Mapped[int] = mapped_column(Integer, default=90, server_default="90")
    video_no_skip_ahead: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    video_check_minutes: Mapped[int | None] = mapped_column(Integer)

    # Issue 15: a programme of a city (where its province allows, ProvincePlanSetting.city_programmes) and/or of
    # one industry line; None: the whole province, every industry. Several programmes per tier and year may exist.
    city_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    industry: Mapped[str | None] = mapped_column(String(64))

    province: Mapped[Region] = relationship(foreign_keys=[province_id])
    city: Mapped[Region | None] = relationship(foreign_keys=[city_id])
    eligibility_rule_set: Mapped["EligibilityRuleSet | None"] = relationship()
    courses: Mapped[list["Course"]] = relationship(secondary=programme_courses, order_by="Course.code")

    @property
    def required_courses(self) -> list["Course"]:
        return [c for c in self.courses if c.compulsory]


class EligibilityRuleSet(Base):
    """Who may enrol, per province: ``rules`` is a JSON list evaluated by courses.eligibility."""

    __tablename__ = "eligibility_rule_sets"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    rules: Mapped[list] = mapped_column(JSON, default=list)


class SubjectCategory(LabelledEnum):
    public = "public"
    professional = "professional"

    @classmethod
    def _labels(cls):
        return {"public": _l("公需科目"), "professional": _l("专业科目")}


class Course(Base):
    """A course with its hours and subject category; its lessons are ordered."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    title: Mapped[str] = mapped_column(String(128))
    hours: Mapped[float] = mapped_column(Float)
    subject_category: Mapped[SubjectCategory] = mapped_column(enum_column_type(SubjectCategory))
    description: Mapped[str] = mapped_column(Text, default="")
    compulsory: Mapped[bool] = mapped_column(Boolean, default=True)
    # The owner who may edit it (issue 18): a province (its province-level bureau), or an institution for its own
    # electives; neither set = the system admins' course. No database foreign key: SQLite could not drop the columns
    # again on a downgrade (courses is referenced from everywhere); save_course sets them from the actor only.
    owner_province_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)
    owner_institution_id: Mapped[int | None] = mapped_column(Integer, index=True, nullable=True)

    lessons: Mapped[list["Lesson"]] = relationship(back_populates="course", order_by="Lesson.position",
                                                   cascade="all, delete-orphan")


class LessonKind(LabelledEnum):
    text = "text"
    video = "video"
    pdf = "pdf"

    @classmethod
    def _labels(cls):
        return {"text": _l("图文"), "video": _l("视频"), "pdf": _l("PDF 资料")}


class Lesson(Base):
    """One lesson of a course: Markdown text (sanitised when shown), an uploaded video or a PDF."""

    __tablename__ = "lessons"

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    title: Mapped[str] = mapped_column(String(128))
    kind: Mapped[LessonKind] = mapped_column(enum_column_type(LessonKind))
    body_md: Mapped[str] = mapped_column(Text, default="")
    file_id: Mapped[int | None] = mapped_column(ForeignKey("stored_files.id"))
    minutes: Mapped[int] = mapped_column(Integer, default=0)
    # Retired from the catalogue (issue 17): no new class takes it; classes that have it keep it, and the
    # progress of those who studied it stays.
    retired_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    course: Mapped[Course] = relationship(back_populates="lessons")
    file: Mapped[StoredFile | None] = relationship()


class LessonProgress(Base):
    """A trainee's progress in one lesson: when first opened, when completed, and for a video the
    largest share watched (0..1)."""

    __tablename__ = "lesson_progress"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    opened_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    watched_share: Mapped[float] = mapped_column(Float, default=0.0)

    lesson: Mapped[Lesson] = relationship()


class VideoWatch(Base):
    """What one trainee has really watched of one video lesson (issue 17): the merged intervals of the video the
    server credited from heartbeats (never more than the wall-clock time that passed, at most at 2× speed), their
    total, the furthest point reached and the video's length as first reported."""

    __tablename__ = "video_watches"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    duration: Mapped[float] = mapped_column(Float, default=0.0)
    intervals: Mapped[list] = mapped_column(JSON, default=list)
    watched_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    furthest: Mapped[float] = mapped_column(Float, default=0.0)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)

    lesson: Mapped[Lesson] = relationship()
    user: Mapped[User] = relationship()


class WatchSession(Base):
    """One viewing of a video lesson (a page load): its heartbeats and attention checks. ``token`` is the page's
    handle; ``last_beat_at`` the server time of its last heartbeat; ``check_due_at`` when the next attention check
    is asked; ``pending_code`` the number the trainee must type while a check is open."""

    __tablename__ = "video_watch_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_beat_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    credited_seconds: Mapped[float] = mapped_column(Float, default=0.0)
    check_due_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    pending_code: Mapped[str | None] = mapped_column(String(8))
    checks_asked: Mapped[int] = mapped_column(Integer, default=0)
    checks_passed: Mapped[int] = mapped_column(Integer, default=0)


class TrainingClass(Base):
    """A class (培训班): one offering of a programme by an institution, with dates and a timetable."""

    __tablename__ = "training_classes"

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("programmes.id"), index=True)
    institution_id: Mapped[int] = mapped_column(ForeignKey("institutions.id"), index=True)
    region_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    place: Mapped[str] = mapped_column(String(255), default="")
    start_date: Mapped[dt.date] = mapped_column(Date)
    end_date: Mapped[dt.date] = mapped_column(Date)
    capacity: Mapped[int] = mapped_column(Integer)
    enrol_opens_on: Mapped[dt.date] = mapped_column(Date)
    enrol_closes_on: Mapped[dt.date] = mapped_column(Date)
    # The teachers, one a line ("name, title or employer"): part of what is filed with the bureau.
    teachers: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The line of its city's published training plan the class is opened against (issue 15), if any.
    plan_line_id: Mapped[int | None] = mapped_column(ForeignKey("training_plan_lines.id"), index=True)
    # When the class took its snapshot of the programme's lessons (``class_lessons``, issue 17); None: a class
    # made before snapshots, which follows the live catalogue.
    lessons_frozen_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    programme: Mapped[Programme] = relationship()
    institution: Mapped[Institution] = relationship()
    region: Mapped[Region] = relationship()
    plan_line: Mapped["PlanLine | None"] = relationship()
    sessions: Mapped[list["ClassSession"]] = relationship(back_populates="training_class", order_by="ClassSession.starts_at")

    @property
    def tier(self) -> Tier:
        return self.programme.tier


class ProvincePlanSetting(Base):
    """Issue 15, a province's settings for programmes and training plans, each with its basis
    (lms.settingbasis): whether its cities may hold their own programmes (seed 003 has the province run the
    advanced tier, 省局"高级"培训, and is silent on cities holding programmes: 本省自定) and the fewest classes a
    city's yearly plan lists (seed 003: 每年组织培训班两期以上). A province without a row uses these defaults."""

    __tablename__ = "province_plan_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), unique=True)
    city_programmes: Mapped[bool] = mapped_column(Boolean, default=False)
    min_plan_classes: Mapped[int] = mapped_column(Integer, default=2)


class PlanStatus(LabelledEnum):
    draft = "draft"
    published = "published"

    @classmethod
    def _labels(cls):
        return {"draft": _l("草稿"), "published": _l("已发布")}


class TrainingPlan(Base):
    """A city bureau's yearly training plan (seed 003: 市局要制定年度培训计划,编制年度培训大纲): its syllabus,
    the classes it expects (lines) and its goals per county (分区县市督导落实)."""

    __tablename__ = "training_plans"
    __table_args__ = (UniqueConstraint("city_id", "year"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    year: Mapped[int] = mapped_column(Integer)
    syllabus: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[PlanStatus] = mapped_column(enum_column_type(PlanStatus), default=PlanStatus.draft)
    published_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    city: Mapped[Region] = relationship()
    lines: Mapped[list["PlanLine"]] = relationship(back_populates="plan", order_by="PlanLine.position",
                                                   cascade="all, delete-orphan")
    goals: Mapped[list["PlanGoal"]] = relationship(back_populates="plan", order_by="PlanGoal.id",
                                                   cascade="all, delete-orphan")


class PlanLine(Base):
    """One line of a plan: a centralised class or classes for one industry (集中培训和分行业培训), expected
    dates, place and number of classes."""

    __tablename__ = "training_plan_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plans.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=1)
    industry: Mapped[str] = mapped_column(String(64), default="")  # "": centralised (集中培训)
    county_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"))  # the county it is held for; None: city-wide
    starts_on: Mapped[dt.date] = mapped_column(Date)
    ends_on: Mapped[dt.date] = mapped_column(Date)
    place: Mapped[str] = mapped_column(String(255), default="")
    classes: Mapped[int] = mapped_column(Integer, default=1)

    plan: Mapped[TrainingPlan] = relationship(back_populates="lines")
    county: Mapped[Region | None] = relationship()


class PlanGoal(Base):
    """A plan's goal for one county of its city: people to train and enterprises to cover."""

    __tablename__ = "training_plan_goals"
    __table_args__ = (UniqueConstraint("plan_id", "county_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("training_plans.id", ondelete="CASCADE"), index=True)
    county_id: Mapped[int] = mapped_column(ForeignKey("regions.id"), index=True)
    people: Mapped[int] = mapped_column(Integer, default=0)
    enterprises: Mapped[int] = mapped_column(Integer, default=0)

    plan: Mapped[TrainingPlan] = relationship(back_populates="goals")
    county: Mapped[Region] = relationship()


class ClassLesson(Base):
    """One lesson of a class's frozen content: the programme's required lessons when the class opened, plus any
    lesson staff pushed to it later (``pushed``). Completion counts against these rows."""

    __tablename__ = "class_lessons"
    __table_args__ = (UniqueConstraint("class_id", "lesson_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), index=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("lessons.id", ondelete="CASCADE"), index=True)
    added_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    pushed: Mapped[bool] = mapped_column(Boolean, default=False)

    lesson: Mapped[Lesson] = relationship()


class ClassSession(Base):
    """One timetabled session of a class."""

    __tablename__ = "class_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id", ondelete="CASCADE"), index=True)
    starts_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    hours: Mapped[float] = mapped_column(Float)
    place: Mapped[str] = mapped_column(String(255), default="")
    topic: Mapped[str] = mapped_column(String(255), default="")
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id"))

    training_class: Mapped[TrainingClass] = relationship(back_populates="sessions")


class Enrollment(Base):
    __tablename__ = "enrollments"
    __table_args__ = (UniqueConstraint("class_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    class_id: Mapped[int] = mapped_column(ForeignKey("training_classes.id"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    status: Mapped[EnrollmentStatus] = mapped_column(enum_column_type(EnrollmentStatus), index=True)
    applied_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decision_reason: Mapped[str] = mapped_column(Text, default="")
    waitlist_position: Mapped[int | None] = mapped_column(Integer)
    eligibility: Mapped[dict] = mapped_column(JSON, default=dict)  # the evaluation shown at application time

    training_class: Mapped[TrainingClass] = relationship()
    user: Mapped[User] = relationship(foreign_keys=[user_id])


class AttendanceStatus(LabelledEnum):
    present = "present"
    late = "late"
    absent = "absent"
    excused = "excused"

    @classmethod
    def _labels(cls):
        return {"present": _l("出勤"), "late": _l("迟到"), "absent": _l("缺勤"), "excused": _l("请假")}

    @property
    def counts_as_attended(self) -> bool:
        return self in (AttendanceStatus.present, AttendanceStatus.late)


class AttendanceRecord(Base):
    """One trainee's attendance at one session: one row, whatever the number of scans."""

    __tablename__ = "attendance_records"
    __table_args__ = (UniqueConstraint("session_id", "enrollment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("class_sessions.id", ondelete="CASCADE"), index=True)
    enrollment_id: Mapped[int] = mapped_column(ForeignKey("enrollments.id", ondelete="CASCADE"), index=True)
    status: Mapped[AttendanceStatus] = mapped_column(enum_column_type(AttendanceStatus))
    method: Mapped[str] = mapped_column(String(16), default="qr")  # qr / manual / import / api
    recorded_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reason: Mapped[str] = mapped_column(Text, default="")
    device_hash: Mapped[str] = mapped_column(String(64), default="")
    address_hash: Mapped[str] = mapped_column(String(64), default="")

    session: Mapped[ClassSession] = relationship()
    enrollment: Mapped[Enrollment] = relationship()


# ------------------------------------------------------------------ who sees what
def _class_condition(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        return TrainingClass.region_id.in_(region_subtree_ids(user))
    if user.role == Role.institution_staff:
        return TrainingClass.institution_id == user.institution_id
    return True  # trainees browse every class to find one to apply to


def _visible_class_ids(user):
    cond = _class_condition(user)
    if cond is True:
        return None
    return select(TrainingClass.id).where(cond).scalar_subquery()


@scope_rule(Programme)
def _programme_scope(user):
    return True  # programmes are the published rules


@scope_rule(ProvincePlanSetting)
def _plan_setting_scope(user):
    return True  # a province's published settings


def _plan_condition(user):
    """A city's plan: its own bureau and the bureaus above and below it (drafts included); institutions and
    trainees read published plans."""
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin and user.region is not None:
        parts = user.region.path.rstrip("/").split("/")
        above = ["/".join(parts[:i]) + "/" for i in range(1, len(parts))]  # a county bureau reads its city's plan
        return TrainingPlan.city_id.in_(select(Region.id).where(
            Region.path.startswith(user.region.path) | Region.path.in_(above)).scalar_subquery())
    return TrainingPlan.status == PlanStatus.published


@scope_rule(TrainingPlan)
def _plan_scope(user):
    return _plan_condition(user)


@write_rule(TrainingPlan)
def _plan_write(user, plan):
    return user.role == Role.regulator_admin and user.region_id == plan.city_id


@scope_rule(PlanLine)
def _plan_line_scope(user):
    return PlanLine.plan_id.in_(select(TrainingPlan.id).where(_plan_condition(user)).scalar_subquery()) \
        if _plan_condition(user) is not True else True


@scope_rule(PlanGoal)
def _plan_goal_scope(user):
    return PlanGoal.plan_id.in_(select(TrainingPlan.id).where(_plan_condition(user)).scalar_subquery()) \
        if _plan_condition(user) is not True else True


@scope_rule(EligibilityRuleSet)
def _ruleset_scope(user):
    return True


@scope_rule(Course)
def _course_scope(user):
    return True


def is_province_admin_of(user, province_id) -> bool:
    """Is ``user`` the province-level regulator admin of ``province_id`` (the owner of that province's rules)."""
    return (user.role == Role.regulator_admin and user.region is not None and user.region.level == RegionLevel.province
            and user.region_id == province_id)


def may_edit_course(user, course: "Course") -> bool:
    """Only the course's owner edits it: system admins, the owning province's admin, the owning institution's staff."""
    if user.role == Role.system_admin:
        return True
    if course.owner_institution_id is not None:
        return user.role == Role.institution_staff and user.institution_id == course.owner_institution_id
    return course.owner_province_id is not None and is_province_admin_of(user, course.owner_province_id)


@write_rule(Course)
def _course_write(user, course):
    return may_edit_course(user, course)


@write_rule(Lesson)
def _lesson_write(user, lesson):
    return may_edit_course(user, lesson.course)


@write_rule(Programme)
def _programme_write(user, programme):
    if programme.city_id is not None and user.role == Role.regulator_admin and user.region_id == programme.city_id:
        return True  # a city's own programme (issue 15; saving checks the province still allows it)
    return user.role == Role.system_admin or is_province_admin_of(user, programme.province_id)


@write_rule(EligibilityRuleSet)
def _ruleset_write(user, rule_set):
    return user.role == Role.system_admin or is_province_admin_of(user, rule_set.province_id)


@scope_rule(Lesson)
def _lesson_scope(user):
    return True


@scope_rule(TrainingClass)
def _class_scope(user):
    return _class_condition(user)


@scope_rule(ClassLesson)
def _class_lesson_scope(user):
    return True  # which lessons a class teaches is as public as the catalogue


@scope_rule(ClassSession)
def _session_scope(user):
    ids = _visible_class_ids(user)
    return True if ids is None else ClassSession.class_id.in_(ids)


@scope_rule(Enrollment)
def _enrollment_scope(user):
    if user.role == Role.trainee:
        return Enrollment.user_id == user.id
    ids = _visible_class_ids(user)
    return True if ids is None else Enrollment.class_id.in_(ids)


@scope_rule(AttendanceRecord)
def _attendance_scope(user):
    if user.role == Role.trainee:
        own = select(Enrollment.id).where(Enrollment.user_id == user.id).scalar_subquery()
        return AttendanceRecord.enrollment_id.in_(own)
    ids = _visible_class_ids(user)
    if ids is None:
        return True
    return AttendanceRecord.enrollment_id.in_(select(Enrollment.id).where(Enrollment.class_id.in_(ids)).scalar_subquery())


@scope_rule(VideoWatch)
def _video_watch_scope(user):
    if user.role == Role.trainee:
        return VideoWatch.user_id == user.id
    cond = _class_condition(user)
    if cond is True:
        return True
    return VideoWatch.user_id.in_(select(Enrollment.user_id).join(TrainingClass, TrainingClass.id == Enrollment.class_id)
                                  .where(cond).scalar_subquery())  # staff see the trainees of their classes


@scope_rule(WatchSession)
def _watch_session_scope(user):
    return WatchSession.user_id == user.id


@scope_rule(LessonProgress)
def _progress_scope(user):
    if user.role == Role.system_admin:
        return True
    return LessonProgress.user_id == user.id


def _staff_sees_applicants(user):
    """Institution staff see the profiles of the people who applied to their institution's classes."""
    applicants = (
        select(Enrollment.user_id)
        .join(TrainingClass, TrainingClass.id == Enrollment.class_id)
        .where(TrainingClass.institution_id == user.institution_id)
        .scalar_subquery()
    )
    return TraineeProfile.user_id.in_(applicants)


# Beside the scope rules above, once per process (``add_staff_profile_rule`` appends, so not in ``wiring``).
add_staff_profile_rule(_staff_sees_applicants)
