"""API endpoints of the talent pool (imported by ``talent.wiring``, which registers them)."""
from __future__ import annotations

import base64
import binascii
import datetime as dt

from flask import current_app, jsonify, request
from flask_babel import gettext as _

from lms.api import INT_ID, PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db
from lms.domain import Role, Tier
from lms.errors import ValidationFailed
from lms.pii import mask_id_number, mask_name
from lms.scoping import get_visible
from lms.templating import today_local
from talent import queries
from talent.models import Appointment, PoolStatus, RegistrationStatus, Sanction, SanctionKind, SanctionReason, TalentEntry
from talent.services import appointments as appointment_services
from talent.services import sanctions

ADMINS = (Role.regulator_admin, Role.system_admin)

EntrySchema = schema("TalentEntry", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "id_number_masked": {"type": "string"},
    "enterprise": {"type": "string", "nullable": True}, "region_code": {"type": "string"},
    "highest_tier": {"type": "string", "nullable": True}, "status": {"type": "string", "enum": [s.value for s in PoolStatus]},
    "status_cause": {"type": "string"}, "stars": {"type": "integer", "nullable": True},
    "certificates": {"type": "array", "items": {"type": "object"}}}})


def entry_json(e: TalentEntry) -> dict:
    """An entry as the API gives it (masked ID number, certificates)."""
    prof = e.profile
    return {"id": e.id, "name": e.name, "id_number_masked": mask_id_number(prof.id_number) if prof else "",
            "enterprise": e.enterprise.name if e.enterprise else None, "region_code": e.region.code,
            "highest_tier": e.highest_tier.value if e.highest_tier else None, "status": e.status.value,
            "status_cause": e.status_cause.value, "stars": e.stars,
            "certificates": [{"number": c.number, "tier": c.tier.value, "issued_on": c.issued_on.isoformat(),
                              "valid_until": c.valid_until.isoformat() if c.valid_until else None, "status": c.status}
                             for c in e.certificates]}


FILTER_QUERY = [{"name": name, "in": "query", "schema": {"type": "string"}} for name in ("q", "enterprise")] + [
    {"name": "status", "in": "query", "schema": {"type": "string", "enum": [s.value for s in PoolStatus]}},
    {"name": "tier", "in": "query", "schema": {"type": "string", "enum": [t.value for t in Tier]}},
    {"name": "region", "in": "query", "schema": INT_ID},
    {"name": "stars", "in": "query", "schema": {"type": "integer", "minimum": 0, "maximum": 5}}]


@api_route("/talent/entries", summary="人才库（本地区及下级）", roles=ADMINS, response=paged_schema(EntrySchema),
           query=PAGE_QUERY + FILTER_QUERY, tags=("talent",))
def talent_entries():
    """The pool list with the page's filters, in the page's order (``queries.pool_filter``)."""
    stmt = queries.pool_filter(db.session, current_api_user(), **queries.pool_filters(request.args))
    return paged(db.session, stmt, entry_json)


@api_route("/talent/entries/<int:entry_id>", summary="人才库条目", response=EntrySchema, tags=("talent",))
def talent_entry(entry_id: int):
    """One pool entry, through the caller's scope."""
    return jsonify(entry_json(get_visible(db.session, TalentEntry, entry_id, current_api_user())))


SanctionSchema = schema("TalentSanction", {"type": "object", "properties": {
    "id": {"type": "integer"}, "entry_id": {"type": "integer"},
    "kind": {"type": "string", "enum": list(SanctionKind.__members__)},
    "reason": {"type": "string", "enum": list(SanctionReason.__members__)}, "basis": {"type": "string"},
    "evidence": {"type": "string"}, "bureau": {"type": "string"}, "started_on": {"type": "string"},
    "ended_on": {"type": "string", "nullable": True}, "lift_reason": {"type": "string"}}})
SanctionInput = schema("TalentSanctionInput", {"type": "object", "required": ["kind", "reason", "evidence"], "properties": {
    "kind": {"type": "string", "enum": list(SanctionKind.__members__)},
    "reason": {"type": "string", "enum": list(SanctionReason.__members__)},
    "basis": {"type": "string", "description": "empty: the clause the reason rests on"}, "evidence": {"type": "string"}}})
LiftInput = schema("TalentSanctionLift", {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string"}}})


def sanction_json(s: Sanction) -> dict:
    """A sanction as the API gives it to bureaus (with the evidence; the public sees none of it)."""
    return {"id": s.id, "entry_id": s.entry_id, "kind": s.kind.value, "reason": s.reason.value, "basis": s.basis,
            "evidence": s.evidence, "bureau": s.bureau_region.name, "started_on": s.started_on.isoformat(),
            "ended_on": s.ended_on.isoformat() if s.ended_on else None, "lift_reason": s.lift_reason}


@api_route("/talent/entries/<int:entry_id>/sanctions", summary="人才库成员的处理记录", roles=ADMINS,
           response={"type": "array", "items": SanctionSchema}, tags=("talent",))
def talent_sanctions(entry_id: int):
    """The sanctions of an entry, newest first (the entry page's list)."""
    e = get_visible(db.session, TalentEntry, entry_id, current_api_user())
    return jsonify([sanction_json(s) for s in sanctions.history(db.session, e.id)])


@api_route("/talent/entries/<int:entry_id>/sanctions", ("POST",), summary="警示、暂停或取消资格（监管部门）",
           roles=(Role.regulator_admin,), body=SanctionInput, response=SanctionSchema, tags=("talent",))
def talent_sanction_new(entry_id: int):
    """Impose a sanction: the same use case as the entry page's form (``sanctions.impose``)."""
    user = current_api_user()
    e = get_visible(db.session, TalentEntry, entry_id, user)
    data = json_body()
    s = sanctions.impose(db.session, user, e, kind=str(data.get("kind") or ""), reason=str(data.get("reason") or ""),
                         basis=str(data.get("basis") or ""), evidence=str(data.get("evidence") or ""), today=today_local())
    db.session.commit()
    return jsonify(sanction_json(s))


@api_route("/talent/sanctions/<int:sanction_id>/lift", ("POST",), summary="解除警示或暂停（监管部门）",
           roles=(Role.regulator_admin,), body=LiftInput, response=SanctionSchema, tags=("talent",))
def talent_sanction_lift(sanction_id: int):
    """Lift a warning or suspension with a reason (``sanctions.lift``, as the page)."""
    user = current_api_user()
    s = get_visible(db.session, Sanction, sanction_id, user)
    sanctions.lift(db.session, user, s, str(json_body().get("reason") or ""), today_local())
    db.session.commit()
    return jsonify(sanction_json(s))


AppointmentSchema = schema("TalentAppointment", {"type": "object", "properties": {
    "id": {"type": "integer"}, "enterprise": {"type": "string"}, "cqo": {"type": "string", "description": "masked"},
    "kind": {"type": "string", "enum": ["initial", "change"]}, "appointed_on": {"type": "string"},
    "ended_on": {"type": "string", "nullable": True}, "status": {"type": "string", "enum": list(RegistrationStatus.__members__)},
    "late": {"type": "boolean"}, "confirmed": {"type": "boolean"}, "review_reason": {"type": "string"}}})
AppointmentInput = schema("TalentAppointmentInput", {"type": "object", "required": [
    "appointed_on", "enterprise_head", "enterprise_head_phone", "cv", "opinion", "opinion_date", "letter_base64", "letter_name"],
    "properties": {"id_number": {"type": "string", "description": "the appointee's (an enterprise account files)"},
                   "kind": {"type": "string", "enum": ["initial", "change"]}, "appointed_on": {"type": "string", "format": "date"},
                   "enterprise_head": {"type": "string"}, "enterprise_head_phone": {"type": "string"},
                   "quality_head": {"type": "string"}, "quality_head_phone": {"type": "string"}, "cv": {"type": "string"},
                   "awards": {"type": "string"}, "opinion": {"type": "string"}, "opinion_date": {"type": "string", "format": "date"},
                   "letter_base64": {"type": "string", "description": "the appointment letter (PDF or image)"},
                   "letter_name": {"type": "string"}}})
ReviewInput = schema("TalentAppointmentReview", {"type": "object", "required": ["decision"], "properties": {
    "decision": {"type": "string", "enum": ["accept", "return"]}, "reason": {"type": "string"}}})
EndInput = schema("TalentAppointmentEnd", {"type": "object", "required": ["ended_on"], "properties": {
    "ended_on": {"type": "string", "format": "date"}}})


def appointment_json(a: Appointment) -> dict:
    """A registration as the API gives it (the CQO's name masked)."""
    return {"id": a.id, "enterprise": a.enterprise.name, "cqo": mask_name(a.user.display_name), "kind": a.kind,
            "appointed_on": a.appointed_on.isoformat(), "ended_on": a.ended_on.isoformat() if a.ended_on else None,
            "status": a.status.value, "late": a.late, "confirmed": a.confirmed_at is not None, "review_reason": a.review_reason}


def _date(data: dict, key: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(data.get(key) or ""))
    except ValueError:
        return None


@api_route("/talent/appointments", summary="任命登记（监管部门：本地区；企业：本企业；首席质量官：本人）",
           roles=(Role.enterprise, Role.trainee, *ADMINS), response=paged_schema(AppointmentSchema),
           query=PAGE_QUERY + [{"name": "status", "in": "query", "schema": {"type": "string"}}], tags=("talent",))
def talent_appointments():
    """The registrations the caller may see, by status (the page's query)."""
    return paged(db.session, queries.appointment_queue(current_api_user(), request.args.get("status", "")), appointment_json)


@api_route("/talent/appointments", ("POST",), summary="提交首席质量官登记表（企业账号或本人）", roles=(Role.enterprise, Role.trainee),
           body=AppointmentInput, response=AppointmentSchema, tags=("talent",))
def talent_appointment_new():
    """File a registration: the same service as the page (``appointments.submit_appointment``)."""
    data = json_body()
    try:
        letter = base64.b64decode(str(data.get("letter_base64") or ""), validate=True)
    except (binascii.Error, ValueError):
        raise ValidationFailed({"letter_base64": _("任命书须为 base64 编码的文件")}) from None
    form = appointment_services.AppointmentData(
        kind=str(data.get("kind") or "initial"), appointed_on=_date(data, "appointed_on"),
        enterprise_head=str(data.get("enterprise_head") or ""), enterprise_head_phone=str(data.get("enterprise_head_phone") or ""),
        quality_head=str(data.get("quality_head") or ""), quality_head_phone=str(data.get("quality_head_phone") or ""),
        cv=str(data.get("cv") or ""), awards=str(data.get("awards") or ""), opinion=str(data.get("opinion") or ""),
        opinion_date=_date(data, "opinion_date"), id_number=str(data.get("id_number") or ""))
    appt = appointment_services.submit_appointment(db.session, current_api_user(), form, letter, str(data.get("letter_name") or ""),
                                                   current_app.config["UPLOAD_DIR"], today_local())
    db.session.commit()
    return jsonify(appointment_json(appt))


@api_route("/talent/appointments/<int:appt_id>/review", ("POST",), summary="受理或退回登记（监管部门）", roles=ADMINS,
           body=ReviewInput, response=AppointmentSchema, tags=("talent",))
def talent_appointment_review(appt_id: int):
    """Accept or return a registration (``appointments.review_appointment``, as the page)."""
    user = current_api_user()
    appt = get_visible(db.session, Appointment, appt_id, user)
    data = json_body()
    if data.get("decision") not in ("accept", "return"):
        raise ValidationFailed({"decision": _("请选择审核结论")})
    appointment_services.review_appointment(db.session, user, appt, accept=data["decision"] == "accept",
                                            reason=str(data.get("reason") or ""))
    db.session.commit()
    return jsonify(appointment_json(appt))


@api_route("/talent/appointments/<int:appt_id>/confirm", ("POST",), summary="首席质量官确认本人的任命", roles=(Role.trainee,),
           response=AppointmentSchema, tags=("talent",))
def talent_appointment_confirm(appt_id: int):
    """The CQO confirms an appointment in their name (``appointments.confirm_appointment``)."""
    user = current_api_user()
    appt = appointment_services.confirm_appointment(db.session, user, get_visible(db.session, Appointment, appt_id, user))
    db.session.commit()
    return jsonify(appointment_json(appt))


@api_route("/talent/appointments/<int:appt_id>/end", ("POST",), summary="登记首席质量官离任（企业账号）", roles=(Role.enterprise,),
           body=EndInput, response=AppointmentSchema, tags=("talent",))
def talent_appointment_end(appt_id: int):
    """The enterprise registers that its CQO left (``appointments.end_appointment``)."""
    user = current_api_user()
    appt = get_visible(db.session, Appointment, appt_id, user)
    appointment_services.end_appointment(db.session, user, appt, _date(json_body(), "ended_on"), today_local())
    db.session.commit()
    return jsonify(appointment_json(appt))
