"""The courses use cases, split by concept: ``access`` (who may manage a class), ``programmes`` (programmes and
eligibility rule sets), ``content`` (the catalogue: courses, lessons, progress), ``study`` (video study time checked on the server), ``snapshot`` (a class's frozen lessons, its progress, pushing and retiring lessons),
``enrolment`` (when enrolment is open, applying, deciding, the waiting list) and ``classes`` (classes and their
timetable). Attendance is in
``courses.checkin`` and ``courses.attendance``.

Other features import ``courses.services.<name>``: the names below keep that path working."""
from __future__ import annotations

from courses.services.access import is_class_staff, require_class_staff, require_role
from courses.services.classes import (ClassData, HoursShort, SessionData, add_session, delete_session, hours_short,
                                     save_class)
from courses.services.content import (
    PDF_MAX_BYTES, VIDEO_MAX_BYTES, CourseData, add_lesson, delete_lesson,
    move_lesson, open_lesson, progress_map, record_progress, render_markdown, save_course,
)
from courses.services.snapshot import (
    CourseProgress, class_lessons, class_progress, freeze_lessons, lessons_to_push, push_lesson, retire_lesson,
)
from courses.services.study import (
    answer_check, complete_for_demo, heartbeat, start_viewing, study_report, video_rules,
)
from courses.services.enrolment import approved_count, enrolment_open_condition, is_enrolment_open
from courses.services.programmes import ProgrammeData, programme_basis, save_programme, save_rule_set

__all__ = [
    "is_class_staff", "require_class_staff", "require_role", "ClassData", "SessionData", "add_session",
    "delete_session", "save_class", "PDF_MAX_BYTES", "VIDEO_MAX_BYTES", "CourseData",
    "CourseProgress", "add_lesson", "delete_lesson", "move_lesson", "open_lesson", "class_lessons", "class_progress",
    "freeze_lessons", "lessons_to_push", "push_lesson", "retire_lesson", "progress_map", "record_progress", "render_markdown", "save_course", "approved_count",
    "enrolment_open_condition", "is_enrolment_open", "ProgrammeData", "programme_basis", "save_programme",
    "save_rule_set", "HoursShort", "hours_short", "answer_check", "complete_for_demo", "heartbeat", "start_viewing", "study_report", "video_rules",
]
