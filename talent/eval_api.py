"""API of evaluation as data (issue 15), imported by ``talent.wiring``: the province's standard (tree, bands,
settings, each value's basis) read and replaced, the scoring flow's steps and the selection (评选) — the same
services as the pages."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from lms.api import INT_ID, api_route, current_api_user, json_body, schema
from lms.db import db
from lms.domain import Role
from lms.errors import FieldConflict, NotFound, ValidationFailed
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.pii import mask_name
from lms.scoping import get_visible, visible
from lms.settingbasis import basis_json
from lms.templating import today_local
from talent.models import Assessment, AssessmentStep, Indicator, Selection, TalentEntry
from talent.services import assessments as flow
from talent.services import provincial_eval as pe
from talent.services import settings_section

ADMINS = (Role.regulator_admin, Role.system_admin)
BASIS = {"type": "object", "properties": {"kind": {"type": "string"}, "source": {"type": "string"}}}
StandardSchema = schema("EvaluationStandard", {"type": "object", "properties": {
    "province": {"type": "string"},
    "indicators": {"type": "array", "items": {"type": "object", "properties": {
        "code": {"type": "string"}, "parent": {"type": "string"}, "name": {"type": "string"},
        "weight": {"type": "number", "nullable": True}, "max_points": {"type": "number", "nullable": True},
        "evidence": {"type": "string"}, "name_basis": BASIS, "weight_basis": BASIS}}},
    "bands": {"type": "array", "items": {"type": "object", "properties": {
        "low": {"type": "number"}, "high": {"type": "number"}, "stars": {"type": "integer"}, "grade": {"type": "string"},
        "basis": BASIS}}},
    "outlier_threshold": {"type": "number"}, "nomination_min_stars": {"type": "integer"}, "settings_basis": BASIS}})
StandardInput = schema("EvaluationStandardInput", {
    "type": "object", "required": ["indicators", "bands", "outlier_threshold", "nomination_min_stars"],
    "description": "整体替换；权重之和、上级关系、分档覆盖等一致性问题答 409 并逐项指明位置",
    "properties": {
        "indicators": {"type": "array", "maxItems": 500, "items": {"type": "object", "required": ["code"], "properties": {
            "code": {"type": "string", "minLength": 1, "maxLength": 32}, "parent": {"type": "string", "maxLength": 32},
            "name": {"type": "string", "maxLength": 128}, "weight": {"type": "number", "minimum": 0, "maximum": 100, "nullable": True},
            "max_points": {"type": "number", "minimum": 0, "maximum": 1000, "nullable": True},
            "evidence": {"type": "string", "maxLength": 64}}}},
        "bands": {"type": "array", "maxItems": 20, "items": {"type": "object", "required": ["low", "high", "stars"], "properties": {
            "low": {"type": "number", "minimum": 0, "maximum": 100}, "high": {"type": "number", "minimum": 0, "maximum": 100},
            "stars": {"type": "integer", "minimum": 1, "maximum": 5}, "grade": {"type": "string", "maxLength": 16}}}},
        "outlier_threshold": {"type": "number", "minimum": 0.01, "maximum": 100},
        "nomination_min_stars": {"type": "integer", "minimum": 1, "maximum": 5}}})
PROVINCE_QUERY = [{"name": "province", "in": "query", "schema": INT_ID}]


def _province(user) -> Region:
    pid = request.args.get("province", type=int)
    if pid:
        region = db.session.get(Region, pid)
        if region is None or region.parent_id is not None:
            raise NotFound(_("省份不存在"))
        return region
    if user.region_id is None:
        raise ValidationFailed({"province": _("请指定省份")})
    return province_of(db.session, user.region_id)


def standard_json(province: Region) -> dict:
    """The province's standard with the basis of every value (示例 where none was recorded)."""
    doc = settings_section.export(db.session, province)
    rows = {n.code: n for n in db.session.scalars(select(Indicator).where(Indicator.province_id == province.id))}
    for r in doc["indicators"]:
        node = rows.get(r["code"])
        r["name_basis"] = basis_json(db.session, node, "indicator_name") if node else {"kind": "example", "source": ""}
        r["weight_basis"] = basis_json(db.session, node, "indicator_weight") if node else {"kind": "example", "source": ""}
    for r, band in zip(doc["bands"], pe.province_bands(db.session, province.id)):
        r["basis"] = basis_json(db.session, band, "band_stars")
    doc["settings_basis"] = basis_json(db.session, pe.settings_for(db.session, province.id), "outlier_threshold")
    return {"province": province.name, **doc}


@api_route("/talent/evaluation/standard", summary="本省评价指标体系、星级分档与评价设置（含依据）", query=PROVINCE_QUERY,
           response=StandardSchema, tags=("talent",))
def eval_standard():
    """The standard as the indicators page shows it."""
    return jsonify(standard_json(_province(current_api_user())))


@api_route("/talent/evaluation/standard", ("PUT",), summary="整体替换本省评价指标体系与分档（省级监管部门）", roles=ADMINS,
           query=PROVINCE_QUERY, body=StandardInput, response=StandardSchema, tags=("talent",))
def eval_standard_put():
    """Check the whole standard (each bad indicator or band named; nothing applied) and save it."""
    user = current_api_user()
    province = _province(user)
    errors: dict = {}
    value = settings_section.check(json_body(), errors)
    shape = {k: v for k, v in errors.items() if settings_section.is_shape_problem(k)}
    if shape or (value is None and not errors):
        raise ValidationFailed(shape or {"body": _("内容不正确")})
    if errors:  # well formed, but not a consistent standard: the place of each problem, nothing applied
        raise FieldConflict(errors)
    settings_section.apply(db.session, user, province, value)
    db.session.commit()
    return jsonify(standard_json(province))


AssessmentSchema = schema("EvaluationAssessment", {"type": "object", "properties": {
    "id": {"type": "integer"}, "entry_id": {"type": "integer"}, "cqo": {"type": "string"}, "year": {"type": "integer"},
    "step": {"type": "string", "enum": list(AssessmentStep.__members__)}, "your_turn": {"type": "boolean"},
    "self_total": {"type": "number", "nullable": True}, "enterprise_opinion": {"type": "string"},
    "total": {"type": "number", "nullable": True}, "stars": {"type": "integer", "nullable": True}, "grade": {"type": "string"},
    "experts": {"type": "array", "items": {"type": "object"}}}})
OpenInput = schema("EvaluationAssessmentOpen", {"type": "object", "required": ["entry_id", "year", "experts"], "properties": {
    "entry_id": INT_ID, "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
    "experts": {"type": "array", "minItems": 2, "maxItems": 20, "items": {"type": "string", "minLength": 1, "maxLength": 64}}}})
StepInput = schema("EvaluationAssessmentStep", {"type": "object", "properties": {
    "scores": {"type": "object", "additionalProperties": {"type": "number"}, "description": "points by indicator code (self, expert)"},
    "note": {"type": "string", "description": "the self note, the enterprise's opinion or the bureau's note"}}})


def assessment_json(a: Assessment, user) -> dict:
    """An assessment as the API gives it; the experts' names and totals to bureaus only."""
    experts = [{"expert": x.expert.display_name, "submitted": x.submitted_at is not None, "total": x.total,
                "outlier": x.outlier} for x in a.experts] if user.role in ADMINS else []
    return {"id": a.id, "entry_id": a.entry_id, "cqo": mask_name(a.entry.name) if user.role not in ADMINS else a.entry.name,
            "year": a.year, "step": a.step.value, "your_turn": flow.waiting_for(db.session, user, a),
            "self_total": a.self_total, "enterprise_opinion": a.enterprise_opinion, "total": a.total, "stars": a.stars,
            "grade": a.grade, "experts": experts}


@api_route("/talent/assessments", summary="可见的评价（本人、本企业、所评、本地区）", response={"type": "array", "items": AssessmentSchema},
           tags=("talent",))
def eval_assessments():
    """The list the assessments page shows."""
    user = current_api_user()
    rows = db.session.scalars(visible(Assessment, user).order_by(Assessment.id.desc()).limit(200))
    return jsonify([assessment_json(a, user) for a in rows])


@api_route("/talent/assessments", ("POST",), summary="发起评价并指定专家（监管部门）", roles=ADMINS, body=OpenInput,
           response=AssessmentSchema, status=201, tags=("talent",))
def eval_assessment_open():
    """Open a year's evaluation (``assessments.open_assessment``, as the page)."""
    user, data = current_api_user(), json_body()
    entry_id, experts = data.get("entry_id"), data.get("experts")
    if not isinstance(entry_id, int) or not isinstance(experts, list) or not all(isinstance(x, str) for x in experts):
        raise ValidationFailed({"body": _("entry_id 须为整数，experts 须为账号列表")})
    entry = get_visible(db.session, TalentEntry, entry_id, user)
    year = data.get("year") if isinstance(data.get("year"), int) else 0
    a = flow.open_assessment(db.session, user, entry, year, experts)
    db.session.commit()
    return jsonify(assessment_json(a, user)), 201


@api_route("/talent/assessments/<int:assessment_id>", summary="一项评价", response=AssessmentSchema, tags=("talent",))
def eval_assessment(assessment_id: int):
    """One assessment through the caller's scope."""
    user = current_api_user()
    return jsonify(assessment_json(get_visible(db.session, Assessment, assessment_id, user), user))


def _scores(data: dict) -> dict:
    """The posted points by code; anything else counts as none given (the service then names each indicator)."""
    raw = data.get("scores")
    return raw if isinstance(raw, dict) else {}


@api_route("/talent/assessments/<int:assessment_id>/step", ("POST",), summary="完成当前环节（自评、企业意见、专家评分或确认）",
           body=StepInput, response=AssessmentSchema, tags=("talent",))
def eval_assessment_step(assessment_id: int):
    """The current step, by the caller: the same services as the page's form (each checks its actor)."""
    user, data = current_api_user(), json_body()
    a = get_visible(db.session, Assessment, assessment_id, user)
    note = data.get("note") if isinstance(data.get("note"), str) else ""
    if a.step == AssessmentStep.self:
        flow.self_assess(db.session, user, a, _scores(data), note)
    elif a.step == AssessmentStep.enterprise:
        flow.enterprise_opinion(db.session, user, a, note)
    elif a.step == AssessmentStep.experts:
        flow.expert_score(db.session, user, a, _scores(data))
    else:
        flow.confirm(db.session, user, a, note, today_local())
    db.session.commit()
    return jsonify(assessment_json(a, user))


SelectionSchema = schema("EvaluationSelection", {"type": "object", "properties": {
    "id": {"type": "integer"}, "year": {"type": "integer"}, "title": {"type": "string"}, "status": {"type": "string"},
    "min_stars": {"type": "integer"}, "panel_note": {"type": "string"}, "notice_id": {"type": "integer", "nullable": True},
    "nominations": {"type": "array", "items": {"type": "object"}}}})
SelectionInput = schema("EvaluationSelectionInput", {"type": "object", "required": ["year", "title"], "properties": {
    "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
    "title": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "\\S"}}})
NominationInput = schema("EvaluationNominationInput", {"type": "object", "required": ["entry_id"], "properties": {
    "entry_id": INT_ID, "reason": {"type": "string", "maxLength": 2000}}})
DecisionInput = schema("EvaluationSelectionDecision", {"type": "object", "required": ["selected", "note"], "properties": {
    "selected": {"type": "array", "maxItems": 500, "items": INT_ID},
    "note": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S"}}})
PublishInput = schema("EvaluationSelectionPublish", {"type": "object", "required": ["objection_days"], "properties": {
    "objection_days": {"type": "integer", "minimum": 5, "maximum": 60}}})


def selection_json(s: Selection) -> dict:
    """A selection as the API gives it to bureaus."""
    return {"id": s.id, "year": s.year, "title": s.title, "status": s.status.value, "min_stars": s.min_stars,
            "panel_note": s.panel_note, "notice_id": s.notice_id,
            "nominations": [{"id": n.id, "entry_id": n.entry_id, "name": n.entry.name, "stars": n.stars, "reason": n.reason,
                             "selected": n.selected} for n in s.nominations]}


@api_route("/talent/selections", summary="优秀首席质量官评选（本地区及下级）", roles=ADMINS,
           response={"type": "array", "items": SelectionSchema}, tags=("talent",))
def eval_selections():
    """The selections the selections page lists."""
    rows = db.session.scalars(visible(Selection, current_api_user()).order_by(Selection.year.desc(), Selection.id.desc()))
    return jsonify([selection_json(s) for s in rows])


@api_route("/talent/selections", ("POST",), summary="发起年度评选（监管部门）", roles=(Role.regulator_admin,),
           body=SelectionInput, response=SelectionSchema, status=201, tags=("talent",))
def eval_selection_open():
    """Open the year's selection of the caller's region."""
    data = json_body()
    year = data.get("year") if isinstance(data.get("year"), int) else 0
    s = flow.open_selection(db.session, current_api_user(), year, str(data.get("title") or ""))
    db.session.commit()
    return jsonify(selection_json(s)), 201


def _selection(selection_id: int):
    user = current_api_user()
    return user, get_visible(db.session, Selection, selection_id, user)


@api_route("/talent/selections/<int:selection_id>/nominations", ("POST",), summary="提名（监管部门）", roles=ADMINS,
           body=NominationInput, response=SelectionSchema, tags=("talent",))
def eval_selection_nominate(selection_id: int):
    """Nominate a starred pool member (``assessments.nominate``, as the page)."""
    user, s = _selection(selection_id)
    data = json_body()
    if not isinstance(data.get("entry_id"), int):
        raise ValidationFailed({"entry_id": _("请指定人才库条目")})
    entry = get_visible(db.session, TalentEntry, data["entry_id"], user)
    flow.nominate(db.session, user, s, entry, str(data.get("reason") or ""))
    db.session.commit()
    return jsonify(selection_json(s))


CandidatesSchema = schema("EvaluationNominationCandidates", {"type": "object", "required": ["items", "more"], "properties": {
    "items": {"type": "array", "items": {"type": "object", "required": ["entry_id", "name", "stars"], "properties": {
        "entry_id": {"type": "integer"}, "name": {"type": "string"}, "enterprise": {"type": "string", "nullable": True},
        "region": {"type": "string"}, "stars": {"type": "integer"}}}},
    "more": {"type": "boolean", "description": "更多人员未列出（按星级列出前 100 人），可按条目编号提名"}}})


@api_route("/talent/selections/<int:selection_id>/candidates", summary="可提名的人员（组织评选的监管部门）", roles=ADMINS,
           response=CandidatesSchema, tags=("talent",))
def eval_selection_candidates(selection_id: int):
    """Whom the organising bureau may nominate now (``assessments.nomination_candidates``, as the page lists them)."""
    user, s = _selection(selection_id)
    entries, more = flow.nomination_candidates(db.session, user, s)
    return jsonify({"items": [{"entry_id": e.id, "name": e.name, "enterprise": e.enterprise.name if e.enterprise else None,
                               "region": e.region.name, "stars": e.stars} for e in entries], "more": more})


@api_route("/talent/selections/<int:selection_id>/decision", ("POST",), summary="记录评审结果（监管部门）", roles=ADMINS,
           body=DecisionInput, response=SelectionSchema, tags=("talent",))
def eval_selection_decide(selection_id: int):
    """Record the panel's decision (``assessments.decide``)."""
    user, s = _selection(selection_id)
    data = json_body()
    chosen = data.get("selected")
    if not isinstance(chosen, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in chosen):
        raise ValidationFailed({"selected": _("selected 须为提名编号列表")})
    flow.decide(db.session, user, s, set(chosen), str(data.get("note") or ""), today_local())
    db.session.commit()
    return jsonify(selection_json(s))


@api_route("/talent/selections/<int:selection_id>/publish", ("POST",), summary="公布评选结果（监管部门）", roles=ADMINS,
           body=PublishInput, response=SelectionSchema, tags=("talent",))
def eval_selection_publish(selection_id: int):
    """Publish the selected as a masked public notice (``assessments.publish_selection``)."""
    user, s = _selection(selection_id)
    days = json_body().get("objection_days")
    flow.publish_selection(db.session, user, s, days if isinstance(days, int) and not isinstance(days, bool) else None,
                           today_local())
    db.session.commit()
    return jsonify(selection_json(s))
