"""API for institutions' own systems: file a class, submit its results (with offline results, all or nothing),
and read the status of the institution's filings and reports."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _

from courses.models import TrainingClass
from lms.api import PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError, ValidationFailed
from lms.scoping import get_visible
from lms.templating import today_local
from reports import queries
from reports.services import filing, imports
from reports.services.imports import MAX_API_ROWS

READERS = (Role.institution_staff, Role.regulator_admin, Role.system_admin)

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
    """The class's ClassReportStatus (``queries.class_status``), for ``paged`` and the single answers."""
    return queries.class_status(db.session, klass)


def _commit(action) -> None:
    """Run the service and commit; on a refusal roll back and let the API answer with its message."""
    try:
        action()
    except DomainError:
        db.session.rollback()
        raise
    db.session.commit()


@api_route("/reports/classes", summary="列出可见培训班的报备与结果报告状态", roles=READERS,
           response=paged_schema(STATUS), query=PAGE_QUERY, tags=("reports",))
def api_report_statuses():
    """The filing and results report of every class the caller sees (the staff list's read model)."""
    return paged(db.session, queries.report_classes(current_api_user()), _status)


@api_route("/reports/classes/<int:class_id>", summary="读取一个培训班的报备与结果报告状态", roles=READERS,
           response=STATUS, tags=("reports",))
def api_report_status(class_id: int):
    """One class's filing and results report, and what its gates allow now."""
    return jsonify(_status(get_visible(db.session, TrainingClass, class_id, current_api_user())))


@api_route("/reports/classes/<int:class_id>/filing", ("POST",), summary="向对应层级的监管部门报备培训班（开班前）",
           roles=(Role.institution_staff,), body=FILING_BODY, response=STATUS, tags=("reports",),
           status=201)
def api_file_class(class_id: int):
    """File a class with its bureau, as the filing page does (``filing.file_class``)."""
    user = current_api_user()
    klass = get_visible(db.session, TrainingClass, class_id, user)
    body = json_body() if request.get_data() else {}
    teachers = body.get("teachers")
    if teachers is not None and not isinstance(teachers, str):
        raise ValidationFailed({"teachers": _("teachers 须为字符串")})
    _commit(lambda: filing.file_class(db.session, user, klass, today_local(), teachers=teachers))
    return jsonify(_status(klass)), 201


@api_route("/reports/classes/<int:class_id>/results", ("POST",),
           summary="提交培训班结果报告（可附线下成绩与考勤，全部通过检查才写入）", roles=(Role.institution_staff,),
           body=RESULTS_BODY, response=STATUS, tags=("reports",), status=201)
def api_submit_results(class_id: int):
    """Submit a class's results report with its offline rows: the page's checks and writes, at once
    (``imports.submit_results_with_rows``; the page applies a file's rows in the background first)."""
    user = current_api_user()
    klass = get_visible(db.session, TrainingClass, class_id, user)
    body = json_body()
    _commit(lambda: imports.submit_results_with_rows(db.session, user, klass, body.get("rows") or [],
                                                     str(body.get("note") or ""), today_local(), utcnow()))
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
    """The annual work reports the caller sees, newest year first."""
    return paged(db.session, queries.annual_reports(current_api_user()), lambda r: {"id": r.id, "institution": r.institution.name, "year": r.year,
                                              "submitted_at": r.submitted_at.isoformat(), "late": r.late,
                                              "figures": r.figures})
