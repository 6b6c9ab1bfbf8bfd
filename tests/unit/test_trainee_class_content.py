"""Issue 17: course content frozen per class — a class keeps the lessons it opened with when the catalogue is
edited; staff may push a lesson added since (the trainees are told); a studied lesson can be retired, not deleted,
and its records stay."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from courses import completion_rules, services
from courses.models import LessonProgress
from lms.db import utcnow
from lms.errors import Conflict, DomainError, Forbidden
from lms.notifications.models import Notification
from tests import courses_support as cs


def _study(db, user, lessons):
    for les in lessons:
        services.record_progress(db, user, les, utcnow(), completed=True)


def test_trainee_class_keeps_its_lessons_when_the_catalogue_grows(db, world):
    klass = cs.training_class(db, world)
    course = klass.programme.required_courses[0]
    user, enrollment = cs.admitted(db, world, klass, "frozen1")
    _study(db, user, course.lessons)
    assert completion_rules.lessons_rule(db, enrollment).met
    added = services.add_lesson(db, world.sysadmin, course, title="新增一讲", kind="text", body_md="正文")
    result = completion_rules.lessons_rule(db, enrollment)
    assert result.met and result.detail == "已学完 2 / 2 个课时"  # the running class is not blocked
    later = cs.training_class(db, world, klass.programme)
    assert [les.id for _c, ls in services.class_lessons(db, later) for les in ls][-1] == added.id  # later classes get it
    assert services.lessons_to_push(db, klass) == [added]


def test_trainee_is_told_when_staff_push_a_new_lesson_to_the_class(db, world):
    klass = cs.training_class(db, world)
    course = klass.programme.required_courses[0]
    user, enrollment = cs.admitted(db, world, klass, "frozen2")
    _study(db, user, course.lessons)
    added = services.add_lesson(db, world.sysadmin, course, title="补充一讲", kind="text", body_md="正文")
    with pytest.raises(Forbidden):
        services.push_lesson(db, world.staff_fj, klass, added, utcnow())
    services.push_lesson(db, world.staff_nt, klass, added, utcnow())
    result = completion_rules.lessons_rule(db, enrollment)
    assert not result.met and result.detail.startswith("已学完 2 / 3 个课时")
    note = db.scalar(select(Notification).where(Notification.user_id == user.id, Notification.kind == "class_content"))
    assert note.title == "培训班新增课时：补充一讲"
    with pytest.raises(Conflict):
        services.push_lesson(db, world.staff_nt, klass, added, utcnow())  # already in the class


def test_trainee_records_stay_when_a_studied_lesson_is_retired(db, world):
    klass = cs.training_class(db, world)
    course = klass.programme.required_courses[0]
    user, enrollment = cs.admitted(db, world, klass, "frozen3")
    first = course.lessons[0]
    _study(db, user, [first])
    with pytest.raises(DomainError) as exc:
        services.delete_lesson(db, world.sysadmin, first)
    assert exc.value.message == "已有学员学习该课时，不能删除；可将其停用，学习记录会保留"
    services.retire_lesson(db, world.sysadmin, first, utcnow())
    assert db.scalar(select(LessonProgress).where(LessonProgress.lesson_id == first.id)).completed_at is not None
    assert first.id in {les.id for _c, ls in services.class_lessons(db, klass) for les in ls}  # the class keeps it
    later = cs.training_class(db, world, klass.programme)
    assert first.id not in {les.id for _c, ls in services.class_lessons(db, later) for les in ls}
    with pytest.raises(DomainError):
        services.retire_lesson(db, world.sysadmin, first, utcnow())
