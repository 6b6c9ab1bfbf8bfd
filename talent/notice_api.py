"""API of the talent pool's public notices (公示), imported by ``talent.wiring``: the same use cases as the notice pages
(``talent.views``), through the same services and queries. Anyone reads the published notices and their lines (masked
as on the page, with the page's exact search); a bureau publishes a notice, reads and resolves the objections lodged
against its notices and closes a notice when its period is over. Objections themselves are lodged on the public page,
which asks for a contact and limits each address (``OBJECTION_LIMIT``). The public reads are named ``public_*``, the
house's mark of an endpoint that needs no token (tests/web/test_platform.py)."""
from __future__ import annotations

from flask import jsonify, request
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from lms.api import PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db
from lms.domain import Role, Tier
from lms.errors import ValidationFailed
from lms.extensions import limiter
from lms.scoping import get_visible
from lms.templating import today_local
from talent import queries
from talent.models import Notice, NoticeEntry, NoticeObjection, ObjectionStatus, PoolStatus
from talent.services import notices as notice_services
from talent.views import PUBLIC_LIMIT

ADMINS = (Role.regulator_admin, Role.system_admin)

NoticeSchema = schema("TalentNotice", {"type": "object", "required": ["id", "title", "kind", "published_on"], "properties": {
    "id": {"type": "integer"}, "title": {"type": "string"}, "region": {"type": "string"},
    "kind": {"type": "string", "enum": list(notice_services.KINDS)},
    "published_on": {"type": "string", "format": "date"}, "objection_until": {"type": "string", "format": "date"},
    "closed_on": {"type": "string", "format": "date", "nullable": True}, "contact": {"type": "string"},
    "open_for_objections": {"type": "boolean"}}})
NoticeLineSchema = schema("TalentNoticeLine", {"type": "object", "properties": {
    "id": {"type": "integer"}, "name": {"type": "string"}, "id_number_masked": {"type": "string"},
    "enterprise": {"type": "string"}, "region": {"type": "string"},
    "tier": {"type": "string", "nullable": True, "enum": [t.value for t in Tier] + [None]},
    "certificate_numbers": {"type": "array", "items": {"type": "string"}},
    "status": {"type": "string", "enum": [s.value for s in PoolStatus]}, "stars": {"type": "integer", "nullable": True}}})
NoticeInput = schema("TalentNoticeInput", {"type": "object", "required": ["title", "objection_days"], "properties": {
    "title": {"type": "string", "minLength": 1, "maxLength": 128, "pattern": "\\S"},
    "objection_days": {"type": "integer", "minimum": 5, "maximum": 60},
    "contact": {"type": "string", "maxLength": 128},
    "kind": {"type": "string", "enum": list(notice_services.KINDS)}}})
ObjectionSchema = schema("TalentNoticeObjection", {"type": "object", "properties": {
    "id": {"type": "integer"}, "notice_id": {"type": "integer"}, "line_id": {"type": "integer", "nullable": True},
    "text": {"type": "string"}, "contact_name": {"type": "string"}, "contact_masked": {"type": "string"},
    "submitted_on": {"type": "string", "format": "date"},
    "status": {"type": "string", "enum": [s.value for s in ObjectionStatus]}, "resolution": {"type": "string"},
    "resolved_on": {"type": "string", "format": "date", "nullable": True}}})
ResolveInput = schema("TalentNoticeObjectionResolution", {"type": "object", "required": ["upheld", "resolution"],
                                                          "properties": {
    "upheld": {"type": "boolean"}, "resolution": {"type": "string", "minLength": 1, "maxLength": 2000, "pattern": "\\S"}}})
SEARCH_QUERY = [{"name": name, "in": "query", "schema": {"type": "string", "maxLength": 64}}
                for name in ("name", "certificate")]


def notice_json(n: Notice) -> dict:
    """A notice as the public page shows it."""
    return {"id": n.id, "title": n.title, "region": n.region.name, "kind": n.kind, "published_on": n.published_on.isoformat(),
            "objection_until": n.objection_until.isoformat(), "closed_on": n.closed_on.isoformat() if n.closed_on else None,
            "contact": n.contact, "open_for_objections": notice_services.is_open(n, today_local())}


def line_json(line: NoticeEntry) -> dict:
    """A notice's line: only what the notice copied in (masked when it was published)."""
    return {"id": line.id, "name": line.name, "id_number_masked": line.id_masked, "enterprise": line.enterprise_name,
            "region": line.region_name, "tier": line.tier.value if line.tier else None,
            "certificate_numbers": [c for c in line.certificate_numbers.split("、") if c], "status": line.status.value,
            "stars": line.stars}


def objection_json(o: NoticeObjection) -> dict:
    """An objection as its bureau sees it (the contact masked, as on the notice's page)."""
    return {"id": o.id, "notice_id": o.notice_id, "line_id": o.notice_entry_id, "text": o.text,
            "contact_name": o.contact_name, "contact_masked": o.contact_masked, "submitted_on": o.submitted_on.isoformat(),
            "status": o.status.value, "resolution": o.resolution,
            "resolved_on": o.resolved_on.isoformat() if o.resolved_on else None}


def _text(data: dict, name: str) -> str:
    """The body's ``name`` as text ("" when absent); any other JSON type is refused, naming the field."""
    value = data.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValidationFailed({name: _("%(f)s 须为文本", f=name)})
    return value


def _published(notice_id: int) -> Notice:
    return queries.published_notice(db.session, notice_id, today_local())


@api_route("/talent/notices", public=True, summary="已发布的公示（无需令牌）", response=paged_schema(NoticeSchema),
           query=PAGE_QUERY, tags=("talent",))
@limiter.limit(PUBLIC_LIMIT)
def public_talent_notices():
    """The published notices, newest first (``queries.published_notices``, as the public page)."""
    return paged(db.session, queries.published_notices(today_local()).options(selectinload(Notice.region)), notice_json)


@api_route("/talent/notices/<int:notice_id>", public=True, summary="一份公示（无需令牌）", response=NoticeSchema,
           tags=("talent",))
@limiter.limit(PUBLIC_LIMIT)
def public_talent_notice(notice_id: int):
    """A published notice."""
    return jsonify(notice_json(_published(notice_id)))


@api_route("/talent/notices/<int:notice_id>/lines", public=True,
           summary="公示名单（无需令牌；身份证号已遮蔽，与公示页面相同；name 或 certificate 为精确查找）",
           response=paged_schema(NoticeLineSchema), query=PAGE_QUERY + SEARCH_QUERY, tags=("talent",))
@limiter.limit(PUBLIC_LIMIT)
def public_talent_notice_lines(notice_id: int):
    """A notice's lines in the published order, or those matching an exact name or certificate number (the page's
    search: ``queries.public_search_stmt``)."""
    notice = _published(notice_id)
    name, cert = request.args.get("name") or "", request.args.get("certificate") or ""
    stmt = (queries.public_search_stmt(notice.id, name=name, certificate=cert) if name.strip() or cert.strip()
            else queries.notice_lines(notice.id))
    return paged(db.session, stmt, line_json)


@api_route("/talent/notices", ("POST",), summary="发布公示（监管部门：本地区及下级）", roles=(Role.regulator_admin,),
           body=NoticeInput, response=NoticeSchema, status=201, tags=("talent",))
def talent_notice_publish():
    """Publish a notice of the caller's region (``notices.publish_notice``, as the notices page)."""
    data = json_body()
    days = data.get("objection_days")
    days = days if isinstance(days, int) and not isinstance(days, bool) else None  # the service names it with the rest
    title, contact, kind = _text(data, "title"), _text(data, "contact"), _text(data, "kind")
    notice = notice_services.publish_notice(db.session, current_api_user(), title=title, objection_days=days,
                                            contact=contact, today=today_local(), kind=kind or "appointed")
    db.session.commit()
    return jsonify(notice_json(notice)), 201


@api_route("/talent/notices/<int:notice_id>/objections", summary="公示收到的异议（监管部门）", roles=ADMINS,
           response={"type": "array", "items": ObjectionSchema}, tags=("talent",))
def talent_notice_objections(notice_id: int):
    """The objections lodged against a notice of the caller's region or below, oldest first."""
    user = current_api_user()
    notice = get_visible(db.session, Notice, notice_id, user)
    return jsonify([objection_json(o) for o in queries.objections_of(db.session, user, notice.id)])


@api_route("/talent/objections/<int:objection_id>/resolve", ("POST",), summary="记录异议处理结果（监管部门）",
           roles=(Role.regulator_admin,), body=ResolveInput, response=ObjectionSchema, tags=("talent",))
def talent_objection_resolve(objection_id: int):
    """Record how an objection was resolved (``notices.resolve_objection``, as the notice's page)."""
    user = current_api_user()
    obj = get_visible(db.session, NoticeObjection, objection_id, user)
    data = json_body()
    if not isinstance(data.get("upheld"), bool):
        raise ValidationFailed({"upheld": _("请选择是否采纳异议")})
    notice_services.resolve_objection(db.session, user, obj, upheld=data["upheld"], resolution=_text(data, "resolution"),
                                      today=today_local())
    db.session.commit()
    return jsonify(objection_json(obj))


@api_route("/talent/notices/<int:notice_id>/close", ("POST",), summary="结束公示（期满且异议均已处理）",
           roles=(Role.regulator_admin,), response=NoticeSchema, tags=("talent",))
def talent_notice_close(notice_id: int):
    """Close a notice (``notices.close_notice``, as the notice's page)."""
    user = current_api_user()
    notice = get_visible(db.session, Notice, notice_id, user)
    notice_services.close_notice(db.session, user, notice, today_local())
    db.session.commit()
    return jsonify(notice_json(notice))
