"""API endpoints of continuing education (imported by ``credits.wiring``, which registers them)."""
from __future__ import annotations

from flask import jsonify, request

from credits import queries
from lms.api import api_route, current_api_user, schema
from lms.db import db
from lms.domain import Role
from lms.settingbasis import BASIS_SCHEMA, basis_json
from lms.templating import today_local

ProgressSchema = schema("CreditProgress", {"type": "object", "properties": {
    "year": {"type": "integer"}, "total": {"type": "number"}, "professional": {"type": "number"},
    "public": {"type": "number"}, "required": {"type": "integer"}, "professional_min": {"type": "integer"},
    "required_basis": BASIS_SCHEMA, "professional_min_basis": BASIS_SCHEMA,
    "report_filed": {"type": "boolean"}, "compliant": {"type": "boolean"},
    "report_or_hours": {"type": "boolean", "description": "本省规则：递交绩效报告或继续教育证明之一即达标（崇质强办文〔2022〕3号 四（三））；否则学时与履职报告均须达到"}}})


@api_route("/credits/progress", summary="本人本年度（或指定年度）继续教育进度", roles=(Role.trainee,), response=ProgressSchema,
           query=[{"name": "year", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 9999}}], tags=("credits",))
def credits_progress():
    """The trainee's progress for a year: the same figures as the progress page (``queries.member_progress``)."""
    p = queries.member_progress(db.session, current_api_user(), request.args.get("year", type=int), today_local())
    return jsonify({"year": p.year, "total": p.total, "professional": p.professional, "public": p.public,
                    "required": p.required, "professional_min": p.professional_min,
                    "required_basis": basis_json(db.session, p.rule, "required_hours"),
                    "professional_min_basis": basis_json(db.session, p.rule, "professional_min_hours"),
                    "report_filed": p.report_filed,
                    "compliant": p.compliant, "report_or_hours": p.either})
