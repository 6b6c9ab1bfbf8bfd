"""API for institutions' own systems: their classes, timetables and enrolments, and posting attendance."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from courses import checkin, plan_form, queries
from courses.attendance import rates
from courses.models import (AttendanceStatus, ClassSession, Enrollment, EnrollmentStatus, PlanStatus, TrainingClass,
                            TrainingPlan)
from courses.services import hours_short, plans
from lms.api import PAGE_QUERY, api_route, current_api_user, json_body, page_args, paged, paged_schema, schema
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.scoping import get_visible, get_writable, visible
from lms.templating import paginate, today_local

VIEWERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)

CLASS = schema("TrainingClass", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "tier": {"type": "string", "enum": ["basic", "advanced", "senior"]},
    "programme": {"type": "string"}, "institution": {"type": "string"}, "region_code": {"type": "string"},
    "place": {"type": "string"}, "start_date": {"type": "string", "format": "date"},
    "end_date": {"type": "string", "format": "date"}, "capacity": {"type": "integer"},
    "enrol_opens_on": {"type": "string", "format": "date"}, "enrol_closes_on": {"type": "string", "format": "date"},
    "sessions": {"type": "array", "items": {"type": "object", "properties": {
        "id": {"type": "integer"}, "starts_at": {"type": "string", "format": "date-time"},
        "ends_at": {"type": "string", "format": "date-time"}, "hours": {"type": "number"},
        "topic": {"type": "string"}, "place": {"type": "string"}}}},
    "plan_line_id": {"type": "integer", "nullable": True},
    "hours_short": {"type": "object", "nullable": True, "description": "课表学时未达到培训方案学时时给出两者",
                    "properties": {"timetable_hours": {"type": "number"}, "programme_hours": {"type": "number"},
                                   "message": {"type": "string"}}},
}})
ENROLLMENT = schema("Enrollment", {"type": "object", "properties": {
    "id": {"type": "integer"}, "class_id": {"type": "integer"}, "username": {"type": "string"},
    "name": {"type": "string"}, "status": {"type": "string", "enum": [s.value for s in EnrollmentStatus]},
    "applied_at": {"type": "string", "format": "date-time"}, "waitlist_position": {"type": "integer", "nullable": True},
    "attendance_rate_so_far": {"type": "number"}, "attendance_rate_overall": {"type": "number"},
}})
SHEET = schema("AttendanceSheet", {"type": "object", "properties": {
    "items": {"type": "array", "items": {"type": "object", "properties": {
        "enrollment_id": {"type": "integer"}, "username": {"type": "string"}, "name": {"type": "string"},
        "status": {"type": "string", "nullable": True, "enum": [s.value for s in AttendanceStatus]},
        "method": {"type": "string", "nullable": True}, "recorded_at": {"type": "string", "format": "date-time", "nullable": True},
        "reason": {"type": "string"}, "attendance_rate_so_far": {"type": "number"},
        "attendance_rate_overall": {"type": "number"}, "device_flag": {"type": "boolean"},
        "address_flag": {"type": "boolean"}}}},
    "flagged": {"type": "boolean"}, "page": {"type": "integer"}, "per_page": {"type": "integer"},
    "total": {"type": "integer"},
}})
ATTENDANCE_BODY = schema("AttendancePost", {"type": "object", "required": ["items"], "properties": {
    "items": {"type": "array", "items": {"type": "object", "required": ["enrollment_id", "status", "reason"], "properties": {
        "enrollment_id": {"type": "integer"},
        "status": {"type": "string", "enum": [s.value for s in AttendanceStatus]},
        "reason": {"type": "string", "minLength": 2, "maxLength": 200}}}}}})


def _class_json(k: TrainingClass) -> dict:
    return {
        "id": k.id, "name": k.name, "tier": k.programme.tier.value, "programme": k.programme.name,
        "institution": k.institution.name, "region_code": k.region.code, "place": k.place,
        "start_date": k.start_date.isoformat(), "end_date": k.end_date.isoformat(), "capacity": k.capacity,
        "enrol_opens_on": k.enrol_opens_on.isoformat(), "enrol_closes_on": k.enrol_closes_on.isoformat(),
        "sessions": [{"id": s.id, "starts_at": s.starts_at.isoformat(), "ends_at": s.ends_at.isoformat(),
                      "hours": s.hours, "topic": s.topic, "place": s.place} for s in k.sessions],
        "plan_line_id": k.plan_line_id, "hours_short": _short_json(k),
    }


def _short_json(k: TrainingClass) -> dict | None:
    short = hours_short(k)
    return None if short is None else {"timetable_hours": short.timetable, "programme_hours": short.programme,
                                       "message": short.message}


@api_route("/classes", summary="列出可见的培训班（机构：本机构；监管部门：本地区及下级）", roles=VIEWERS,
           response=paged_schema(CLASS), query=PAGE_QUERY, tags=("courses",))
def api_classes():
    """The classes the caller sees, newest first (``queries.class_list``, as the classes page without filters)."""
    user = current_api_user()
    return paged(db.session, queries.class_list(user, today_local()), _class_json)


@api_route("/classes/<int:class_id>/enrollments", summary="列出培训班的报名及出勤率", roles=VIEWERS,
           response=paged_schema(ENROLLMENT), query=PAGE_QUERY, tags=("courses",))
def api_enrollments(class_id: int):
    """A class's enrolments with each one's attendance rates."""
    user = current_api_user()
    klass = get_visible(db.session, TrainingClass, class_id, user)
    now = utcnow()

    def ser(e: Enrollment) -> dict:
        r = rates(db.session, e, now)
        return {"id": e.id, "class_id": e.class_id, "username": e.user.username, "name": e.user.display_name,
                "status": e.status.value, "applied_at": e.applied_at.isoformat(),
                "waitlist_position": e.waitlist_position, "attendance_rate_so_far": r.so_far,
                "attendance_rate_overall": r.overall}

    stmt = visible(Enrollment, user).where(Enrollment.class_id == klass.id).order_by(Enrollment.id)
    return paged(db.session, stmt, ser)


def _sheet_row_json(row: queries.SheetRow) -> dict:
    r = row.record
    return {"enrollment_id": row.enrollment.id, "username": row.enrollment.user.username,
            "name": row.enrollment.user.display_name, "status": r.status.value if r else None,
            "method": r.method if r else None, "recorded_at": r.recorded_at.isoformat() if r else None,
            "reason": r.reason if r else "", "attendance_rate_so_far": row.rates.so_far,
            "attendance_rate_overall": row.rates.overall, "device_flag": row.device_flag,
            "address_flag": row.address_flag}


@api_route("/sessions/<int:session_id>/attendance", summary="一个课次的考勤表（已录取学员、考勤记录、出勤率与异常标记）",
           roles=VIEWERS, response=SHEET, query=PAGE_QUERY + [{"name": "q", "in": "query", "schema": {"type": "string"}}],
           tags=("courses",))
def api_attendance(session_id: int):
    """A session's attendance sheet: the same query (``queries.attendance_sheet``) as the attendance page."""
    cs = get_visible(db.session, ClassSession, session_id, current_api_user())
    page_no, per_page = page_args()
    page = paginate(db.session, queries.roster_query(cs, (request.args.get("q") or "").strip()[:64]),
                    page=page_no, per_page=per_page)
    sheet = queries.attendance_sheet(db.session, cs, page.items, utcnow())
    return jsonify({"items": [_sheet_row_json(row) for row in sheet.rows], "flagged": sheet.flagged,
                    "page": page.page, "per_page": per_page, "total": page.total})


def _attendance_plan(cs: ClassSession, items) -> list[tuple[int, Enrollment, str, str]]:
    """Check the posted items against the session's class: every error at once, or the plan to write."""
    if not isinstance(items, list) or not items:
        raise ValidationFailed({"items": _("items 须为非空数组")})
    errors: dict[str, str] = {}
    plan = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            errors[f"items[{i}]"] = _("须为对象")
            continue
        e = db.session.scalar(select(Enrollment).where(Enrollment.id == item.get("enrollment_id"),
                                                       Enrollment.class_id == cs.class_id))
        if e is None:
            errors[f"items[{i}].enrollment_id"] = _("不是本课次所属培训班的报名")
            continue
        plan.append((i, e, str(item.get("status") or ""), str(item.get("reason") or "")))
    if errors:
        raise ValidationFailed(errors)
    return plan


@api_route("/sessions/<int:session_id>/attendance", ("POST",), summary="提交一个课次的考勤（全部成功或全部不写入）",
           roles=(Role.institution_staff,), body=ATTENDANCE_BODY, tags=("courses",),
           response={"type": "object", "properties": {"recorded": {"type": "integer"}}})
def api_post_attendance(session_id: int):
    """Mark several trainees' attendance at a session (``checkin.mark``, as the page): all or nothing."""
    user = current_api_user()
    cs = get_visible(db.session, ClassSession, session_id, user)
    plan = _attendance_plan(cs, json_body().get("items"))
    now = utcnow()
    try:
        for i, e, status, reason in plan:
            try:
                checkin.mark(db.session, user, cs, e, status, reason, now, method="api")
            except ValidationFailed as exc:
                raise ValidationFailed({f"items[{i}].{k}": v for k, v in exc.errors.items()})
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return jsonify({"recorded": len(plan)})


# ------------------------------------------------------------------ training plans (issue 15)
PLAN_LINE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "industry": {"type": "string", "description": "行业；空为集中培训"},
    "county_code": {"type": "string", "nullable": True}, "starts_on": {"type": "string", "format": "date"},
    "ends_on": {"type": "string", "format": "date"}, "place": {"type": "string"}, "classes": {"type": "integer"}}}
PLAN_PROGRESS = {"type": "object", "properties": {
    "county_code": {"type": "string", "nullable": True, "description": "空为全市集中的培训班"},
    "trained": {"type": "integer"}, "people_goal": {"type": "integer", "nullable": True},
    "enterprises": {"type": "integer"}, "enterprises_goal": {"type": "integer", "nullable": True},
    "classes_held": {"type": "integer"}, "classes_planned": {"type": "integer"}}}
PLAN = schema("TrainingPlan", {"type": "object", "properties": {
    "id": {"type": "integer"}, "city_code": {"type": "string"}, "year": {"type": "integer"},
    "status": {"type": "string", "enum": [s.value for s in PlanStatus]}, "syllabus": {"type": "string"},
    "lines": {"type": "array", "items": PLAN_LINE},
    "goals": {"type": "array", "items": {"type": "object", "properties": {
        "county_code": {"type": "string"}, "people": {"type": "integer"}, "enterprises": {"type": "integer"}}}},
    "progress": {"type": "array", "items": PLAN_PROGRESS},
}})
PLAN_BODY = schema("TrainingPlanInput", {"type": "object", "required": ["year", "syllabus", "lines"], "properties": {
    "year": {"type": "integer"}, "syllabus": {"type": "string"},
    "lines": {"type": "array", "items": {"type": "object", "properties": {
        "industry": {"type": "string"}, "county_id": {"type": "integer", "nullable": True},
        "starts_on": {"type": "string", "format": "date"}, "ends_on": {"type": "string", "format": "date"},
        "place": {"type": "string"}, "classes": {"type": "integer"}}}},
    "goals": {"type": "array", "items": {"type": "object", "properties": {
        "county_id": {"type": "integer"}, "people": {"type": "integer"}, "enterprises": {"type": "integer"}}}},
}})
PLAN_VIEWERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)


def _plan_json(plan: TrainingPlan, with_progress: bool = False) -> dict:
    out = {"id": plan.id, "city_code": plan.city.code, "year": plan.year, "status": plan.status.value,
           "syllabus": plan.syllabus,
           "lines": [{"id": ln.id, "industry": ln.industry, "county_code": ln.county.code if ln.county else None,
                      "starts_on": ln.starts_on.isoformat(), "ends_on": ln.ends_on.isoformat(), "place": ln.place,
                      "classes": ln.classes} for ln in plan.lines],
           "goals": [{"county_code": g.county.code, "people": g.people, "enterprises": g.enterprises} for g in plan.goals]}
    if with_progress:
        out["progress"] = [{"county_code": r.county.code if r.county else None, "trained": r.trained,
                            "people_goal": r.people_goal, "enterprises": r.enterprises,
                            "enterprises_goal": r.enterprises_goal, "classes_held": r.held,
                            "classes_planned": r.planned}
                           for r in plans.plan_vs_done(db.session, plan, today_local())]
    return out


@api_route("/plans", summary="列出可见的年度培训计划（市局：本市；下级区县：所在市；机构：已发布的）", roles=PLAN_VIEWERS,
           response=paged_schema(PLAN), query=PAGE_QUERY, tags=("courses",))
def api_plans():
    """The plans the caller sees, as the plans page lists them."""
    stmt = visible(TrainingPlan, current_api_user()).order_by(TrainingPlan.year.desc(), TrainingPlan.city_id)
    return paged(db.session, stmt, _plan_json)


@api_route("/plans", ("POST",), summary="市局制定本市年度培训计划（草稿；全部检查通过才保存）", roles=(Role.regulator_admin,),
           body=PLAN_BODY, response=PLAN, tags=("courses",), status=201)
def api_plan_create():
    """Draft the caller's city's plan (``plans.save_plan``, as the page)."""
    user = current_api_user()
    plan = plans.save_plan(db.session, user, plan_form.from_json(user.region_id, json_body()))
    db.session.commit()
    return jsonify(_plan_json(plan)), 201


@api_route("/plans/<int:plan_id>", summary="年度培训计划及分区县完成情况", roles=PLAN_VIEWERS, response=PLAN,
           tags=("courses",))
def api_plan(plan_id: int):
    """One plan with its plan vs done per county (``plans.plan_vs_done``, as the page)."""
    plan = get_visible(db.session, TrainingPlan, plan_id, current_api_user())
    return jsonify(_plan_json(plan, with_progress=True))


@api_route("/plans/<int:plan_id>", ("PUT",), summary="修改年度培训计划草稿", roles=(Role.regulator_admin,),
           body=PLAN_BODY, response=PLAN, tags=("courses",))
def api_plan_update(plan_id: int):
    """Replace a draft plan's year, syllabus, lines and goals."""
    user = current_api_user()
    plan = get_writable(db.session, TrainingPlan, plan_id, user)
    plans.save_plan(db.session, user, plan_form.from_json(plan.city_id, json_body()), plan)
    db.session.commit()
    return jsonify(_plan_json(plan))


@api_route("/plans/<int:plan_id>/publish", ("POST",), summary="发布年度培训计划", roles=(Role.regulator_admin,),
           response=PLAN, tags=("courses",))
def api_plan_publish(plan_id: int):
    """Publish a draft plan (checked again)."""
    user = current_api_user()
    plan = get_writable(db.session, TrainingPlan, plan_id, user)
    plans.publish_plan(db.session, user, plan)
    db.session.commit()
    return jsonify(_plan_json(plan))
