"""/api/v1 endpoints for certificates: list, detail, download, issue, revoke and public verification."""
from __future__ import annotations

import io

from flask import current_app, jsonify, request, send_file, url_for
from flask_babel import gettext as _

from certificates import export, public_answers, queries, services, worker
from certificates import partners as partner_trust
from certificates.limits import verify_rate, verify_rate_get
from certificates.models import Certificate, CertificateStatus, IssueJob, ReasonCategory
from lms.api import INT_ID, PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db
from lms.web import cache_publicly
from lms.domain import Role
from lms.errors import Forbidden, ValidationFailed
from lms.extensions import select_locale
from lms.scoping import get_visible
from lms.templating import today_local

STATUS_ENUM = [s.value for s in CertificateStatus]
CertificateSchema = schema("Certificate", {"type": "object", "properties": {
    "number": {"type": "string"}, "status": {"type": "string", "enum": STATUS_ENUM},
    "holder_name": {"type": "string"}, "tier": {"type": "string", "enum": ["basic", "advanced", "senior"]},
    "issued_on": {"type": "string", "format": "date"}, "valid_until": {"type": "string", "format": "date", "nullable": True, "description": "null: no end date (长期有效)"},
    "verify_url": {"type": "string", "description": "the printed QR's link, HTTPS://HOST/C/<TOKEN> (scheme and "
                   "host upper case: QR alphanumeric mode; case-insensitive)"}, "institution": {"type": "string"}, "bureau": {"type": "string"},
    "programme": {"type": "string"}, "class_name": {"type": "string"},
    "superseded_by": {"type": "string", "nullable": True}}})
VerificationSchema = schema("CertificateVerification", {"type": "object", "properties": {
    "status": {"type": "string", "enum": STATUS_ENUM + ["unknown"]}, "signature_valid": {"type": "boolean"},
    "number": {"type": "string"}, "holder_name": {"type": "string", "description": "masked"},
    "tier": {"type": "string"}, "institution": {"type": "string"}, "bureau": {"type": "string"},
    "issued_on": {"type": "string"},
    "valid_until": {"type": "string", "nullable": True, "description": "null: no end date (长期有效)"},
    "status_changed_on": {"type": "string"}, "reason_category": {"type": "string"},
    "superseded_by": {"type": "object"},
    "pool": {"type": "object", "description": "the holder's talent-pool standing: status, status_label, since, reason, "
             "history of sanctions (kind, reason, basis, from, until)"},
    "photo_fingerprint": {"type": "string", "description": "where the certificate prints the holder's photo: its "
                          "fingerprint (first 8 bytes of SHA-256 of the printed JPEG, 1A2B-3C4D-5E6F-7081); the "
                          "photo itself is never public"}}})
# What ``services.revoke`` accepts: a reason category, or free text of at least two characters that is not a
# category's name (recorded under 'other' with the text leading the note; "other" alone needs a note, so it is
# the free-text form that stands for it). The note and the text together stay within the note's 1000 characters.
_CATEGORIES = [m.value for m in ReasonCategory if m != ReasonCategory.other]
RevokeInput = schema("RevokeInput", {"type": "object", "required": ["reason"], "properties": {
    "reason": {"description": "a reason category, or a free-text reason (recorded under 'other')", "anyOf": [
        {"type": "string", "enum": _CATEGORIES},
        {"type": "string", "maxLength": 400, "pattern": "^\\s*\\S[\\s\\S]*\\S\\s*$",
         "not": {"pattern": "^\\s*(" + "|".join(ReasonCategory.__members__) + ")\\s*$"}}]},
    "note": {"type": "string", "maxLength": 500}}})
IssueInput = schema("IssueInput", {"type": "object", "properties": {
    "enrollment_ids": {"type": "array", "items": INT_ID,
                       "description": "omit (or send {}) to issue for every approved enrolment of the class"}}})
JobSchema = schema("CertificateIssueJob", {"type": "object", "properties": {
    "job_id": {"type": "integer"}, "status": {"type": "string"}, "total": {"type": "integer"},
    "done": {"type": "integer"}, "issued": {"type": "integer"}, "skipped": {"type": "integer"},
    "failed": {"type": "integer"}, "percent": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}})


def _cfg() -> services.CertConfig:
    return services.CertConfig.from_app(current_app)


def certificate_json(c: Certificate) -> dict:
    """A certificate as the API shows it."""
    snap = c.snapshot or {}
    return {
        "number": c.number, "status": services.effective_status(c, today_local()).value,
        "holder_name": c.holder_name, "tier": c.tier.value, "issued_on": c.issued_on.isoformat(),
        "valid_until": services.iso_or_none(c.valid_until),
        "verify_url": services.qr_url(c, _cfg()),
        "institution": snap.get("institution", ""), "bureau": snap.get("bureau", ""),
        "programme": snap.get("programme", ""), "class_name": snap.get("class_name", ""),
        "superseded_by": c.superseded_by.number if c.superseded_by else None,
    }


@api_route("/certificates", summary="可见的证书", response=paged_schema(CertificateSchema),
           query=PAGE_QUERY + [{"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUS_ENUM}},
                               {"name": "class_id", "in": "query", "schema": INT_ID}],
           tags=("certificates",))
def certificates_list():
    """The certificates the caller may see, by status and class (the same query as the page's list)."""
    stmt = queries.certificates(current_api_user(), status=request.args.get("status"),
                                class_id=request.args.get("class_id", type=int))
    return paged(db.session, stmt.order_by(Certificate.id), certificate_json)


@api_route("/certificates/<number>", summary="证书详情", response=CertificateSchema, tags=("certificates",))
def certificate_get(number: str):
    """One certificate by number."""
    return jsonify(certificate_json(queries.by_number(db.session, number, current_api_user())))


# No ``roles=`` here: the service refuses everyone but province and city bureaus itself, and audits the attempt.
@api_route("/certificates/<number>/revoke", ("POST",), summary="撤销证书（省、市级监管部门）", body=RevokeInput, response=CertificateSchema, tags=("certificates",))
def certificate_revoke(number: str):
    """Revoke a certificate: the same use case as the page's revoke (``services.revoke``)."""
    user = current_api_user()
    cert = queries.by_number(db.session, number, user)
    data = json_body()
    try:
        services.revoke(db.session, user, cert, str(data.get("reason") or ""), str(data.get("note") or ""),
                        today_local())
    except Forbidden:
        db.session.commit()  # keeps the audit entry of the refused change; nothing else was changed
        raise
    db.session.commit()
    return jsonify(certificate_json(cert))


@api_route("/certificates/<number>/certificate.<fmt>", summary="下载证书（pdf 或 png）", tags=("certificates",),
           responses={"200": {"description": "The certificate file", "content": {
               "application/pdf": {"schema": {"type": "string", "format": "binary"}},
               "image/png": {"schema": {"type": "string", "format": "binary"}}}}})
def certificate_download(number: str, fmt: str):
    """The printable certificate (PDF or PNG): the same file as the page's download."""
    cert = queries.by_number(db.session, number, current_api_user())
    file = services.certificate_file(cert, fmt, _cfg())
    return send_file(io.BytesIO(file.data), mimetype=file.mimetype, as_attachment=True, download_name=file.filename)


@api_route("/certificates/<number>/credential", summary="Open Badges 3.0 可验证凭证（JWT，EdDSA）",
           tags=("certificates",), media_type="application/vc+jwt")
def certificate_credential(number: str):
    """The certificate as a signed Open Badges 3.0 credential."""
    cert = queries.by_number(db.session, number, current_api_user())
    return current_app.response_class(export.credential_jwt(cert, _cfg()), mimetype="application/vc+jwt")


@api_route("/classes/<int:class_id>/certificates/issue", ("POST",), summary="为培训班（或指定学员）发证，后台执行",
           roles=(Role.institution_staff, Role.regulator_admin, Role.system_admin), body=IssueInput,
           response=JobSchema, tags=("certificates",), status=202)
def certificates_issue(class_id: int):
    """Start issuing the class's certificates in the background (the same job as the page's issue)."""
    user = current_api_user()
    cls = services.get_class(db.session, user, class_id)
    data = request.get_json(silent=True) or {}
    ids = data.get("enrollment_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
        raise ValidationFailed({"enrollment_ids": _("enrollment_ids 须为整数数组")})
    job = worker.start_job(db.session, user, cls, ids)
    db.session.commit()
    worker.start(current_app._get_current_object(), job, today_local())
    db.session.expire_all()
    job = db.session.get(IssueJob, job.id)
    out = queries.progress(job)
    out["progress_url"] = url_for("api.certificate_job", job_id=job.id)
    return jsonify(out), 202


@api_route("/certificate-jobs/<int:job_id>", summary="发证任务进度", response=JobSchema, tags=("certificates",))
def certificate_job(job_id: int):
    """An issue job's progress (the same read model as the page's progress JSON)."""
    return jsonify(queries.progress_with_items(get_visible(db.session, IssueJob, job_id, current_api_user())))


@api_route("/verify/<cid>", public=True, summary="公开核验证书（无需令牌；sig 为二维码网址 # 后的签名部分）",
           response=VerificationSchema, query=[{"name": "sig", "in": "query", "schema": {"type": "string"}}],
           tags=("certificates",), responses={"404": {
               "description": "No certificate with this number", "content": {"application/json": {"schema": {
                   "type": "object", "required": ["status"],
                   "properties": {"status": {"type": "string", "enum": ["unknown"]}}}}}}})
@verify_rate_get
def public_verify(cid: str):
    """Public verification as JSON, with the signature checked when ``sig`` is given. One statement
    (``find_public_record``); the answer's bytes are kept per process under its ETag (certificates.public_answers)."""
    found = public_answers.scan(cid, "api", request.args.get("sig"))
    config = current_app.config
    if found is None:
        return cache_publicly(current_app.make_response((jsonify({"status": "unknown"}), 404)),
                              config["CERT_VERIFY_CACHE_SECONDS"])
    rec, today, sig_valid = found.record, found.today, found.sig_valid
    etag = rec.etag(today, "json", select_locale(), sig_valid)

    def build() -> bytes:
        return public_answers.json_answer(current_app, db.session, rec, today, sig_valid)

    data = b"" if request.if_none_match.contains(etag) else public_answers.body(
        etag, build, config["CERT_VERIFY_BODY_CACHE"])  # the 304 needs no answer
    resp = current_app.response_class(data, mimetype="application/json")
    resp.headers["Access-Control-Allow-Origin"] = "*"
    # Kept briefly by a proxy, revalidated by its ETag (issue 20): computed from what the answer shows.
    return cache_publicly(resp, config["CERT_VERIFY_CACHE_SECONDS"], etag=etag)


PartnerVerificationSchema = schema("PartnerCertificateVerification", {"type": "object", "properties": {
    "partner": {"type": "string", "nullable": True, "description": "the partner province, or null if none matches"},
    "signature_valid": {"type": "boolean"}, "reason": {"type": "string"},
    "fields": {"type": "object", "nullable": True},
    "status": {"type": "string", "enum": STATUS_ENUM + ["unknown"]},
    "status_source": {"type": "string", "enum": ["partner", "status_list", "unreachable", "list_invalid",
                                                 "not_checked"],
                      "description": "partner: its verify JSON (old /v/ links); status_list: its signed W3C "
                                     "Bitstring Status Lists at the index the printed /C/ code carries"},
    "status_updated_at": {"type": "string", "format": "date-time", "nullable": True,
                          "description": "the partner's status list's date: later revocations are not known"},
    "accepted": {"type": "boolean", "description": "signature valid and status valid: the certificate may be "
                                                   "accepted as printed"}}})


@api_route("/partner-verify", public=True, summary="核验互认省份的证书（签名用对方公钥核验，状态向对方查询）",
           response=PartnerVerificationSchema,
           query=[{"name": "link", "in": "query", "required": True,
                   "schema": {"type": "string", "minLength": 1, "maxLength": 2048, "pattern": "\\S"}}],
           tags=("certificates",), responses={"404": {
               "description": "The link belongs to no partner province on the trust list",
               "content": {"application/json": {"schema": PartnerVerificationSchema}}}})
@verify_rate
def public_partner_verify():
    """A partner province's certificate link, verified by its signature; its status asked of the partner."""
    link = (request.args.get("link") or "").strip()
    if not link or len(link) > 2048:
        raise ValidationFailed({"link": _("请提供对方证书二维码中的完整网址")})
    res = partner_trust.check_link(db.session, link, today=today_local(),
                                   timeout=current_app.config["PARTNER_STATUS_TIMEOUT"])
    if res.partner is None:
        return jsonify({"partner": None, "signature_valid": False, "reason": "not_a_partner", "fields": None,
                        "status": "unknown", "status_source": "not_checked", "status_updated_at": None,
                        "accepted": False}), 404
    ok = bool(res.checked and res.checked.ok)
    return jsonify({"partner": res.partner.name, "signature_valid": ok,
                    "reason": res.checked.reason if res.checked else "malformed",
                    "fields": res.checked.fields if ok else None, "status": res.status,
                    "status_source": res.status_source, "accepted": res.accepted,
                    "status_updated_at": res.status_updated_at.isoformat() if res.status_updated_at else None})
