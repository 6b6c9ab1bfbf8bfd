"""API for institutions' own systems: file a class, submit its results (with offline results, all or nothing),
and read the status of the institution's filings and reports."""
from __future__ import annotations

from flask import jsonify
from flask_babel import gettext as _

from courses.models import TrainingClass
from lms.api import PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from reports import filing, imports
from lms.scoping import get_visible, visible
from lms.templating import today_local

READERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)
MAX_API_ROWS = 5000

STATUS = schema("ClassReportStatus", {"type": "object", "properties": {
    "class_id": {"type": "integer"}, "class_name": {"type": "string"},
    "filing": {"type": "object", "nullable": True, "properties": {
        "status": {"type": "string", "enum": ["submitted", "accepted", "returned"]}, "bureau": {"type": "string"},
        "submitted_at": {"type": "string", "format": "date-time"}, "return_reason": {"type": "string"}}},
    "results": {"type": "object", "nullable": True, "properties": {
        "status": {"type": "string", "enum": ["submitted", "accepted", "returned"]}, "bureau": {"type": "string"},
        "submitted_at": {"type": "string", "format": "date-time"}, "return_reason": {"type": "string"},
        "totals": {"type": "object"}}},
    "can_enrol": {"type": "boolean"}, "can_issue_certificates": {"type": "boolean"},
}})
FILING_BODY = schema("ClassFilingPost", {"type": "object", "properties": {
    "teachers": {"type": "string", "description": "授课教师，每行一位；省略则用培训班已登记的教师"}}})
RESULTS_BODY = schema("ResultsReportPost", {"type": "object", "properties": {
    "note": {"type": "string", "maxLength": 2000},
    "rows": {"type": "array", "maxItems": MAX_API_ROWS, "description": "线下成绩与考勤，与导入文件的列相同；全部通过检查才写入",
             "items": {"type": "object", "required": ["username"], "properties": {
                 "username": {"type": "string"}, "name": {"type": "string"},
                 "session_no": {"type": "integer", "description": "课次序号（按上课时间从 1 起）"},
                 "attendance": {"type": "string", "enum": ["present", "late", "absent", "excused"]},
                 "score": {"type": "number", "minimum": 0, "maximum": 100},
                 "taken_on": {"type": "string", "format": "date"}}}}}})


def _status(klass: TrainingClass) -> dict:
    from courses import gates

    f = filing.filing_of(db.session, klass)
    r = filing.results_of(db.session, klass)
    return {
        "class_id": klass.id, "class_name": klass.name,
        "filing": None if f is None else {"status": f.status.value, "bureau": f.bureau.name,
                                          "submitted_at": f.submitted_at.isoformat(), "return_reason": f.return_reason},
        "results": None if r is None else {"status": r.status.value, "bureau": r.bureau.name,
                                           "submitted_at": r.submitted_at.isoformat(), "return_reason": r.return_reason,
                                           "totals": r.totals},
        "can_enrol": gates.refusal(db.session, klass, gates.ENROL) is None,
        "can_issue_certificates": gates.refusal(db.session, klass, gates.CERTIFY) is None,
    }


@api_route("/reports/classes", summary="列出可见培训班的报备与结果报告状态", roles=READERS,
           response=paged_schema(STATUS), query=PAGE_QUERY, tags=("reports",))
def api_report_statuses():
    user = current_api_user()
    stmt = visible(TrainingClass, user).order_by(TrainingClass.start_date.desc(), TrainingClass.id.desc())
    return paged(db.session, stmt, _status)


@api_route("/reports/classes/<int:class_id>", summary="读取一个培训班的报备与结果报告状态", roles=READERS,
           response=STATUS, tags=("reports",))
def api_report_status(class_id: int):
    return jsonify(_status(get_visible(db.session, TrainingClass, class_id, current_api_user())))


@api_route("/reports/classes/<int:class_id>/filing", ("POST",), summary="向对应层级的监管部门报备培训班（开班前）",
           roles=(Role.institution_staff,), body=FILING_BODY, response=STATUS, tags=("reports",))
def api_file_class(class_id: int):
    user = current_api_user()
    klass = get_visible(db.session, TrainingClass, class_id, user)
    from flask import request

    body = json_body() if request.get_data() else {}
    teachers = body.get("teachers")
    if teachers is not None and not isinstance(teachers, str):
        raise ValidationFailed({"teachers": _("teachers 须为字符串")})
    try:
        filing.file_class(db.session, user, klass, today_local(), teachers=teachers)
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return jsonify(_status(klass)), 201


WORDS = {"present": "出勤", "late": "迟到", "absent": "缺勤", "excused": "请假"}


@api_route("/reports/classes/<int:class_id>/results", ("POST",),
           summary="提交培训班结果报告（可附线下成绩与考勤，全部通过检查才写入）", roles=(Role.institution_staff,),
           body=RESULTS_BODY, response=STATUS, tags=("reports",))
def api_submit_results(class_id: int):
    user = current_api_user()
    klass = get_visible(db.session, TrainingClass, class_id, user)
    body = json_body()
    rows = body.get("rows") or []
    if not isinstance(rows, list) or len(rows) > MAX_API_ROWS or not all(isinstance(r, dict) for r in rows):
        raise ValidationFailed({"rows": _("rows 须为对象数组，最多 %(n)d 行", n=MAX_API_ROWS)})
    try:
        if rows:
            imports._require_staff_of(user, klass)
            imports._require_report_open(db.session, klass)
            columns = {h: i for i, h in enumerate(imports.HEADERS)}
            table = [(i + 1, [str(r.get("username") or ""), str(r.get("name") or ""),
                              "" if r.get("session_no") is None else str(r.get("session_no")),
                              WORDS.get(str(r.get("attendance") or ""), str(r.get("attendance") or "")),
                              "" if r.get("score") is None else str(r.get("score")), str(r.get("taken_on") or "")])
                     for i, r in enumerate(rows)]
            now = utcnow()
            plan = imports.validate(db.session, klass, columns, table, now)
            imports.apply_rows(db.session, user, klass, plan, now)
        filing.submit_results(db.session, user, klass, today_local(), str(body.get("note") or ""))
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()
    return jsonify(_status(klass)), 201


ANNUAL = schema("AnnualWorkReport", {"type": "object", "properties": {
    "id": {"type": "integer"}, "institution": {"type": "string"}, "year": {"type": "integer"},
    "submitted_at": {"type": "string", "format": "date-time"}, "late": {"type": "boolean"},
    "figures": {"type": "object", "properties": {
        "classes": {"type": "integer"}, "trainees": {"type": "integer"}, "assessed": {"type": "integer"},
        "passed": {"type": "integer"}, "pass_rate": {"type": "number", "nullable": True},
        "certificates": {"type": "integer"}}}}})


@api_route("/reports/annual", summary="列出可见的年度工作报告（机构：本机构；监管部门：本地区及下级）", roles=READERS,
           response=paged_schema(ANNUAL), query=PAGE_QUERY, tags=("reports",))
def api_annual_reports():
    from reports.models import AnnualWorkReport

    stmt = visible(AnnualWorkReport, current_api_user()).order_by(AnnualWorkReport.year.desc(), AnnualWorkReport.id)
    return paged(db.session, stmt, lambda r: {"id": r.id, "institution": r.institution.name, "year": r.year,
                                              "submitted_at": r.submitted_at.isoformat(), "late": r.late,
                                              "figures": r.figures})
