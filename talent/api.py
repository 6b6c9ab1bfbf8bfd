"""API endpoints of the talent pool (imported by ``talent.wiring``, which registers them)."""
from __future__ import annotations

from flask import jsonify, request

from lms.api import INT_ID, PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db
from lms.domain import Role
from lms.pii import mask_id_number
from lms.scoping import get_visible
from lms.templating import today_local
from talent import queries
from talent.models import PoolStatus, Sanction, SanctionKind, SanctionReason, TalentEntry
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


FILTER_QUERY = [{"name": name, "in": "query", "schema": {"type": kind}} for name, kind in (
    ("q", "string"), ("status", "string"), ("tier", "string"), ("enterprise", "string"))] + [
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
