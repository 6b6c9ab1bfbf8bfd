"""API endpoints of the talent pool (imported by ``talent.wiring``, which registers them)."""
from __future__ import annotations

from flask import jsonify, request

from lms.api import INT_ID, PAGE_QUERY, api_route, current_api_user, paged, paged_schema, schema
from lms.db import db
from lms.domain import Role, Tier
from lms.pii import mask_id_number
from lms.scoping import get_visible
from talent import queries
from talent.models import PoolStatus, TalentEntry

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
