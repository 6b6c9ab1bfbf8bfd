"""API: an institution's own system reads its exams and their results (scoped like the pages)."""
from __future__ import annotations

from flask import jsonify
from sqlalchemy import select

from exams import integrity, queries, results
from exams.models import Attempt, Exam, ExamResult, IntegrityEventKind
from lms.api import PAGE_QUERY, api_route, current_api_user, paged, paged_schema, schema
from lms.db import db
from lms.domain import Role
from lms.scoping import get_visible, visible
from lms.settingbasis import BASIS_SCHEMA, basis_json

STAFF = (Role.institution_staff, Role.regulator_admin, Role.system_admin)

ExamSchema = schema("Exam", {"type": "object", "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "institution_id": {"type": "integer"},
    "class_id": {"type": "integer", "nullable": True}, "class_name": {"type": "string"},
    "programme_id": {"type": "integer", "nullable": True}, "status": {"type": "string", "enum": ["draft", "published"]},
    "opens_at": {"type": "string", "format": "date-time"}, "closes_at": {"type": "string", "format": "date-time"},
    "duration_minutes": {"type": "integer"}, "attempts_allowed": {"type": "integer"},
    "counting": {"type": "string", "enum": ["highest", "last"]}, "pass_mark": {"type": "number"},
    "pass_mark_basis": BASIS_SCHEMA, "total_points": {"type": "number"},
    "max_departures": {"type": "integer", "nullable": True,
                       "description": "离开考试页面达到此次数时自动交卷（本场考试自定；空为不自动交卷）"}}})
IntegrityLogSchema = schema("AttemptIntegrityLog", {"type": "object", "properties": {
    "attempt_id": {"type": "integer"}, "exam_id": {"type": "integer"}, "status": {"type": "string"},
    "departures": {"type": "integer"}, "max_departures": {"type": "integer", "nullable": True},
    "events": {"type": "array", "items": {"type": "object", "properties": {
        "seq": {"type": "integer"}, "kind": {"type": "string", "enum": [k.value for k in IntegrityEventKind]},
        "label": {"type": "string"}, "occurred_at": {"type": "string", "format": "date-time"},
        "received_at": {"type": "string", "format": "date-time"}}}}}})
ExamResultSchema = schema("ExamResult", {"type": "object", "properties": {
    "id": {"type": "integer"}, "exam_id": {"type": "integer"}, "user_id": {"type": "integer"},
    "username": {"type": "string"}, "real_name": {"type": "string"}, "enrollment_id": {"type": "integer"},
    "source": {"type": "string", "enum": ["online", "offline"]}, "attempt_id": {"type": "integer", "nullable": True},
    "score": {"type": "number"}, "passed": {"type": "boolean"}, "counting": {"type": "boolean"},
    "taken_at": {"type": "string", "format": "date-time"}, "recorded_at": {"type": "string", "format": "date-time"}}})


def exam_json(e: Exam) -> dict:
    """An exam as the API shows it."""
    return {"id": e.id, "title": e.title, "institution_id": e.institution_id, "class_id": e.class_id,
            "class_name": e.audience_name, "programme_id": e.programme_id, "status": e.status.value,
            "opens_at": e.opens_at.isoformat(), "closes_at": e.closes_at.isoformat(),
            "duration_minutes": e.duration_minutes, "attempts_allowed": e.attempts_allowed,
            "counting": e.counting.value, "pass_mark": e.effective_pass_mark,
            "pass_mark_basis": basis_json(db.session, e, "effective_pass_mark"), "total_points": e.total_points,
            "max_departures": e.max_departures}


@api_route("/exams", summary="本机构（或辖区）的考试", roles=STAFF, response=paged_schema(ExamSchema),
           query=PAGE_QUERY, tags=("exams",))
def exams_index():
    """The exams the caller may see, by id."""
    return paged(db.session, visible(Exam, current_api_user()).order_by(Exam.id), exam_json)


@api_route("/exams/<int:exam_id>", summary="考试详情", roles=STAFF, response=ExamSchema, tags=("exams",))
def exam_get(exam_id: int):
    """One exam the caller may see."""
    return jsonify(exam_json(get_visible(db.session, Exam, exam_id, current_api_user())))


@api_route("/exams/<int:exam_id>/results", summary="考试成绩（在线与线下），counting 标明计入结业的那一条",
           roles=STAFF, response=paged_schema(ExamResultSchema), query=PAGE_QUERY, tags=("exams",))
def exam_results(exam_id: int):
    """Every result of the exam (online and offline), with the one that counts for each trainee marked."""
    exam = get_visible(db.session, Exam, exam_id, current_api_user())
    counting_ids = queries.counting_result_ids(db.session, exam)

    def ser(r: ExamResult) -> dict:
        return {"id": r.id, "exam_id": r.exam_id, "user_id": r.user_id, "username": r.user.username,
                "real_name": results.real_name(r.user), "enrollment_id": r.enrollment_id, "source": r.source.value,
                "attempt_id": r.attempt_id, "score": r.score, "passed": r.passed, "counting": r.id in counting_ids,
                "taken_at": r.taken_at.isoformat(), "recorded_at": r.recorded_at.isoformat()}

    stmt = select(ExamResult).where(ExamResult.exam_id == exam.id).order_by(ExamResult.id)
    return paged(db.session, stmt, ser)


@api_route("/exams/attempts/<int:attempt_id>/integrity", summary="答卷的考试诚信记录（离开页面、粘贴等，与答卷页相同）",
           roles=STAFF, response=IntegrityLogSchema, tags=("exams",))
def attempt_integrity(attempt_id: int):
    """An attempt's integrity log and departures against the exam's limit, as the staff's answer sheet shows them."""
    att = get_visible(db.session, Attempt, attempt_id, current_api_user())
    return jsonify({"attempt_id": att.id, "exam_id": att.exam_id, "status": att.status.value,
                    "departures": integrity.departures(db.session, att.id), "max_departures": att.exam.max_departures,
                    "events": [{"seq": ev.seq, "kind": ev.kind.value, "label": str(ev.kind.label),
                                "occurred_at": ev.occurred_at.isoformat(), "received_at": ev.received_at.isoformat()}
                               for ev in integrity.events_of(db.session, att)]})
