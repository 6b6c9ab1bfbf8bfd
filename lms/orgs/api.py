"""API endpoints of the organisations: regions, institutions, enterprises (registered by ``lms.orgs.init_app``)."""
from __future__ import annotations

from flask import jsonify, request
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from lms.api import PAGE_QUERY, api_route, current_api_user, json_body, live_schema, paged, paged_schema, schema
from lms.db import db
from lms.domain import OwnershipType, Role, SizeClass
from lms.errors import ValidationFailed
from lms.forms import choices, errors_of, form_from_json
from lms.orgs import services as org_services
from lms.orgs.forms import EnterpriseForm, InstitutionForm
from lms.orgs.models import Enterprise, Institution, Region
from lms.scoping import get_visible, visible
from lms.templating import today_local

ADMINS = (Role.regulator_admin, Role.system_admin)

RegionSchema = schema("Region", {"type": "object", "properties": {
    "id": {"type": "integer"}, "code": {"type": "string"}, "name": {"type": "string"},
    "level": {"type": "string", "enum": ["province", "city", "county"]}, "parent_code": {"type": "string", "nullable": True}}})
InstitutionSchema = schema("Institution", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "credit_code": {"type": "string"},
    "region_code": {"type": "string"}, "tiers_in_force": {"type": "array", "items": {"type": "string"}},
    "authorisations": {"type": "array", "items": {"type": "object"}}}})
# The request bodies say what the services accept, so that a body valid by the document is registered (issue 18):
# a name of 2-128 characters without control or invisible characters and no space at either end (the services
# strip it and refuse control characters), a unified social credit code of GB 32100-2015 (18 characters, the
# last a check character: format "uscc"), an existing region (its id; one the caller administers, or 403).
_CONTROLS = "\\u0000-\\u001f\\u007f-\\u009f\\u200b-\\u200f\\u202a-\\u202e\\u2066-\\u2069\\ufeff"
NAME = {"type": "string", "minLength": 2, "maxLength": 128,
        "pattern": f"^[^\\s{_CONTROLS}][^{_CONTROLS}]*[^\\s{_CONTROLS}]$"}
CREDIT_CODE = {"type": "string", "format": "uscc", "pattern": "^[0-9]{8}[0-9A-HJ-NPQRTUWXY]{10}$",
               "description": "统一社会信用代码（GB 32100-2015，含校验位）"}


def _region_id_schema() -> dict:
    """An existing region's id: the ids stored when the document is served (none yet: any positive id)."""
    ids = list(db.session.scalars(select(Region.id).order_by(Region.id)))
    return {"type": "integer", "description": "an existing region's id (GET /regions); the caller must administer it",
            **({"enum": ids} if ids else {"minimum": 1})}


RegionId = live_schema("RegionId", _region_id_schema)
InstitutionInput = schema("InstitutionInput", {"type": "object", "required": ["name", "credit_code", "region_id"], "properties": {
    "name": NAME, "credit_code": CREDIT_CODE, "region_id": RegionId,
    "contact_name": {"type": "string", "maxLength": 64}, "contact_phone": {"type": "string", "maxLength": 32},
    "address": {"type": "string", "maxLength": 255}}})
EnterpriseSchema = schema("Enterprise", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "credit_code": {"type": "string"},
    "region_code": {"type": "string"}, "industry": {"type": "string"}, "ownership_type": {"type": "string"},
    "size_class": {"type": "string"}, "above_designated_size": {"type": "boolean"}, "main_products": {"type": "string"}}})
EnterpriseInput = schema("EnterpriseInput", {"type": "object",
    "required": ["name", "credit_code", "region_id", "ownership_type", "size_class"], "properties": {
    "name": NAME, "credit_code": CREDIT_CODE, "region_id": RegionId,
    "industry": {"type": "string", "maxLength": 64},
    "ownership_type": {"type": "string", "enum": [m.value for m in OwnershipType]},
    "size_class": {"type": "string", "enum": [m.value for m in SizeClass]},
    "above_designated_size": {"type": "boolean"}, "main_products": {"type": "string", "maxLength": 2000},
    "address": {"type": "string", "maxLength": 255}}})


def _every_region():
    """Every region as the form's choices: an unknown id is a field error (422), one the caller does not
    administer reaches the service, which refuses it (403), as the document says."""
    return choices((rid, str(rid)) for rid in db.session.scalars(select(Region.id)))


def region_json(r: Region) -> dict:
    """A region as the API shows it."""
    return {"id": r.id, "code": r.code, "name": r.name, "level": r.level.value,
            "parent_code": r.parent.code if r.parent else None}


def institution_json(i: Institution) -> dict:
    """An institution as the API shows it, with its tiers in force today."""
    today = today_local()
    return {
        "id": i.id, "name": i.name, "credit_code": i.credit_code, "region_code": i.region.code,
        "tiers_in_force": [t.value for t in i.tiers_in_force(today)],
        "authorisations": [
            {"tier": a.tier.value, "valid_from": a.valid_from.isoformat(), "valid_until": a.valid_until.isoformat()}
            for a in i.authorisations
        ],
    }


def enterprise_json(e: Enterprise) -> dict:
    """An enterprise as the API shows it."""
    return {
        "id": e.id, "name": e.name, "credit_code": e.credit_code, "region_code": e.region.code,
        "industry": e.industry, "ownership_type": e.ownership_type.value, "size_class": e.size_class.value,
        "above_designated_size": e.above_designated_size, "main_products": e.main_products,
    }


@api_route("/regions", summary="行政区划（本地区及下级）", response=paged_schema(RegionSchema), query=PAGE_QUERY, tags=("orgs",))
def regions():
    """The regions the caller may see, by code path."""
    user = current_api_user()
    return paged(db.session, visible(Region, user).order_by(Region.path), region_json)


@api_route("/institutions", summary="可见的培训机构", response=paged_schema(InstitutionSchema),
           query=PAGE_QUERY + [{"name": "q", "in": "query", "schema": {"type": "string"}}], tags=("orgs",))
def institutions():
    """The institutions the caller may see, by name or credit code (``q``)."""
    user = current_api_user()
    stmt = visible(Institution, user).order_by(Institution.id).options(selectinload(Institution.authorisations))
    if q := (request.args.get("q") or "").strip():
        stmt = stmt.where(or_(Institution.name.contains(q, autoescape=True), Institution.credit_code == q.upper()))
    return paged(db.session, stmt, institution_json)


@api_route("/institutions", ("POST",), summary="登记培训机构（监管部门）", roles=ADMINS, body=InstitutionInput,
           response=InstitutionSchema, tags=("orgs",), status=201)
def institution_create():
    """Register an institution (the same form and service as the page)."""
    user = current_api_user()
    form = form_from_json(InstitutionForm, json_body())
    form.region_id.choices = _every_region()
    if not form.validate():
        raise ValidationFailed(errors_of(form))
    inst = org_services.save_institution(db.session, user, org_services.InstitutionData(
        name=form.name.data, credit_code=form.credit_code.data, region_id=form.region_id.data,
        contact_name=form.contact_name.data or "", contact_phone=form.contact_phone.data or "",
        address=form.address.data or ""))
    db.session.commit()
    return jsonify(institution_json(inst)), 201


@api_route("/institutions/<int:inst_id>", summary="培训机构详情", response=InstitutionSchema, tags=("orgs",))
def institution_get(inst_id: int):
    """One institution the caller may see, with its authorisations."""
    return jsonify(institution_json(get_visible(db.session, Institution, inst_id, current_api_user())))


@api_route("/enterprises", summary="可见的企业", response=paged_schema(EnterpriseSchema),
           query=PAGE_QUERY + [{"name": "q", "in": "query", "schema": {"type": "string"}}], tags=("orgs",))
def enterprises():
    """The enterprises the caller may see, by name or credit code (``q``)."""
    user = current_api_user()
    stmt = visible(Enterprise, user).order_by(Enterprise.id)
    if q := (request.args.get("q") or "").strip():
        stmt = stmt.where(or_(Enterprise.name.contains(q, autoescape=True), Enterprise.credit_code == q.upper()))
    return paged(db.session, stmt, enterprise_json)


@api_route("/enterprises", ("POST",), summary="登记企业（监管部门）", roles=ADMINS, body=EnterpriseInput,
           response=EnterpriseSchema, tags=("orgs",), status=201)
def enterprise_create():
    """Register an enterprise (the same form and service as the page)."""
    user = current_api_user()
    form = form_from_json(EnterpriseForm, json_body())
    form.region_id.choices = _every_region()
    if not form.validate():
        raise ValidationFailed(errors_of(form))
    ent = org_services.save_enterprise(db.session, user, org_services.EnterpriseData(
        name=form.name.data, credit_code=form.credit_code.data, region_id=form.region_id.data,
        industry=form.industry.data or "", ownership_type=form.ownership_type.data, size_class=form.size_class.data,
        above_designated_size=bool(form.above_designated_size.data), main_products=form.main_products.data or "",
        address=form.address.data or ""))
    db.session.commit()
    return jsonify(enterprise_json(ent)), 201


@api_route("/enterprises/<int:ent_id>", summary="企业详情", response=EnterpriseSchema, tags=("orgs",))
def enterprise_get(ent_id: int):
    """One enterprise the caller may see."""
    return jsonify(enterprise_json(get_visible(db.session, Enterprise, ent_id, current_api_user())))
