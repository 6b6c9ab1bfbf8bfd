"""Course content frozen per class (issue 17): a class takes a snapshot of its programme's required lessons when it
is opened, and completion counts against that snapshot. Later catalogue edits reach later classes only; staff may
push a lesson added since to a class (its admitted trainees are told); a lesson retired from the catalogue stays in
the classes that have it, with the records of those who studied it."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from courses.models import (
    ClassLesson, Course, Enrollment, EnrollmentStatus, Lesson, LessonProgress, TrainingClass, programme_courses,
)
from courses.services.access import require_class_staff, require_role
from lms import audit
from lms.domain import Role
from lms.errors import Conflict, DomainError
from lms.notifications.services import link, notify
from lms.scoping import require_writable


def current_lessons(session: Session, programme_id: int) -> list[Lesson]:
    """The lessons of the programme's required courses the catalogue offers now (retired ones left out), in
    course code and lesson order."""
    return list(session.scalars(
        select(Lesson).join(Course, Course.id == Lesson.course_id)
        .join(programme_courses, programme_courses.c.course_id == Course.id)
        .where(programme_courses.c.programme_id == programme_id, Course.compulsory.is_(True),
               Lesson.retired_at.is_(None))
        .order_by(Course.code, Lesson.position, Lesson.id)))


def freeze_lessons(session: Session, klass: TrainingClass, now: dt.datetime) -> int:
    """Take (or, while the programme changes before the class runs, retake) the class's snapshot of its
    programme's current lessons; lessons pushed to the class stay. Returns how many lessons it holds."""
    session.execute(delete(ClassLesson).where(ClassLesson.class_id == klass.id, ClassLesson.pushed.is_(False)))
    have = set(session.scalars(select(ClassLesson.lesson_id).where(ClassLesson.class_id == klass.id)))
    for les in current_lessons(session, klass.programme_id):
        if les.id not in have:
            session.add(ClassLesson(class_id=klass.id, lesson_id=les.id, added_at=now))
            have.add(les.id)
    klass.lessons_frozen_at = now
    session.flush()
    return len(have)


def class_lessons(session: Session, klass: TrainingClass) -> list[tuple[Course, list[Lesson]]]:
    """The class's lessons by course (course code, then lesson order): its snapshot, or the live catalogue for a
    class opened before snapshots existed."""
    if klass.lessons_frozen_at is None:
        rows = current_lessons(session, klass.programme_id)
    else:
        rows = session.scalars(select(Lesson).join(ClassLesson, ClassLesson.lesson_id == Lesson.id)
                               .join(Course, Course.id == Lesson.course_id).where(ClassLesson.class_id == klass.id)
                               .order_by(Course.code, Lesson.position, Lesson.id))
    out: list[tuple[Course, list[Lesson]]] = []
    for les in rows:
        if not out or out[-1][0].id != les.course_id:
            out.append((les.course, []))
        out[-1][1].append(les)
    return out


@dataclass
class CourseProgress:
    course: Course
    total: int
    completed: int

    @property
    def share(self) -> float:
        return self.completed / self.total if self.total else 0.0


def class_progress(session: Session, user, klass: TrainingClass) -> list[CourseProgress]:
    """Lessons completed per course of the class's content (what the lessons completion rule counts)."""
    by_course = class_lessons(session, klass)
    ids = [les.id for _c, lessons in by_course for les in lessons]
    done = set(session.scalars(select(LessonProgress.lesson_id).where(
        LessonProgress.user_id == user.id, LessonProgress.lesson_id.in_(ids or [0]),
        LessonProgress.completed_at.is_not(None))))
    return [CourseProgress(c, len(lessons), sum(1 for les in lessons if les.id in done)) for c, lessons in by_course]


def lessons_to_push(session: Session, klass: TrainingClass) -> list[Lesson]:
    """Current lessons of the programme the class's snapshot lacks (added to the catalogue since it opened)."""
    if klass.lessons_frozen_at is None:
        return []
    have = set(session.scalars(select(ClassLesson.lesson_id).where(ClassLesson.class_id == klass.id)))
    return [les for les in current_lessons(session, klass.programme_id) if les.id not in have]


def push_lesson(session: Session, actor, klass: TrainingClass, lesson: Lesson, now: dt.datetime) -> ClassLesson:
    """Add a lesson added to the catalogue since the class opened to the class (its staff's choice); the admitted
    trainees are told, with a link to the lesson."""
    require_class_staff(actor, klass, message=_("只有开班机构的工作人员可以调整本班课程内容"))
    if lesson.id not in {les.id for les in lessons_to_push(session, klass)}:
        raise Conflict(_("该课时不是本班培训方案中新增的课时，或已在本班课程中"))
    row = ClassLesson(class_id=klass.id, lesson_id=lesson.id, added_at=now, pushed=True)
    session.add(row)
    session.flush()
    audit.record(session, actor, "class.lesson_push", klass, lesson_id=lesson.id)
    trainees = session.scalars(select(Enrollment.user_id).where(Enrollment.class_id == klass.id,
                                                                Enrollment.status == EnrollmentStatus.approved))
    for uid in list(trainees):
        notify(session, uid, "class_content", _("培训班新增课时：%(l)s", l=lesson.title),
               _("“%(c)s”增加了课时“%(l)s”（%(course)s），须学完才能结业。", c=klass.name, l=lesson.title,
                 course=lesson.course.title), link("courses.lesson", lesson_id=lesson.id))
    return row


def retire_lesson(session: Session, actor, lesson: Lesson, now: dt.datetime) -> Lesson:
    """Retire a lesson from the catalogue: no new class takes it; classes that have it keep it, and everyone's
    progress in it stays on record."""
    require_role(actor, Role.institution_staff, Role.regulator_admin, Role.system_admin)
    require_writable(session, lesson, actor)
    if lesson.retired_at is not None:
        raise DomainError(_("该课时已停用"))
    lesson.retired_at = now
    session.flush()
    audit.record(session, actor, "lesson.retire", lesson, course_id=lesson.course_id)
    return lesson
