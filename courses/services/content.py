"""The catalogue: courses and their lessons (text, video, PDF), and trainees' progress through them."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import markdown as md
import nh3
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.models import Course, Lesson, LessonKind, LessonProgress, SubjectCategory
from courses.services.access import require_role
from lms import audit
from lms.domain import RegionLevel, Role
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.uploads import StoredFile
from lms.scoping import require_writable

VIDEO_MAX_BYTES = 60 * 1024 * 1024  # under the site-wide MAX_CONTENT_LENGTH (64 MB), which the body parser enforces
PDF_MAX_BYTES = 20 * 1024 * 1024

ALLOWED_TAGS = {
    "p", "br", "hr", "h1", "h2", "h3", "h4", "h5", "h6", "strong", "em", "b", "i", "u", "s", "blockquote",
    "ul", "ol", "li", "code", "pre", "a", "table", "thead", "tbody", "tr", "th", "td", "img", "sup", "sub",
}


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
    require_role(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    if course is not None:
        require_writable(session, course, actor)  # the stored owner decides, never the form (issue 18)
    elif actor.role == Role.regulator_admin and actor.region.level != RegionLevel.province:
        raise Forbidden(_("课程目录由省级监管部门或开设选修课的机构维护"))
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
        if actor.role == Role.institution_staff:
            course.owner_institution_id = actor.institution_id
        elif actor.role == Role.regulator_admin:
            course.owner_province_id = actor.region_id
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
    require_role(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    require_writable(session, course, actor)
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
    require_role(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    require_writable(session, lesson, actor)
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
    require_role(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    require_writable(session, lesson, actor)
    if session.scalar(select(func.count(LessonProgress.id)).where(LessonProgress.lesson_id == lesson.id)):
        raise DomainError(_("已有学员学习该课时，不能删除；可将其停用，学习记录会保留"))
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


def record_progress(session: Session, user, lesson: Lesson, now: dt.datetime, *, completed: bool = False) -> LessonProgress:
    """A trainee says they have studied a text or PDF lesson. A video is completed only by the time really
    watched (``courses.services.study``: server-checked heartbeats), never by the page's word."""
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员的学习进度会被记录"))
    prog = open_lesson(session, user, lesson, now)
    if completed and prog.completed_at is None:
        if lesson.kind == LessonKind.video:
            raise DomainError(_("视频按实际观看时长计入，看到规定比例后自动记为学完"))
        prog.completed_at = now
    session.flush()
    return prog


def progress_map(session: Session, user, lesson_ids: list[int]) -> dict[int, LessonProgress]:
    """The user's progress on the given lessons, by lesson id."""
    if not lesson_ids:
        return {}
    rows = session.scalars(select(LessonProgress).where(LessonProgress.user_id == user.id,
                                                         LessonProgress.lesson_id.in_(lesson_ids)))
    return {p.lesson_id: p for p in rows}
