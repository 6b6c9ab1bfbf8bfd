"""/api/v1 endpoints for certificates: list, detail, download, issue, revoke and public verification."""
from __future__ import annotations

import io

from flask import current_app, jsonify, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from certificates import export, keys, rendering, services, worker
from certificates.limits import verify_rate
from certificates.verification_log import batched_log
from certificates.models import Certificate, CertificateStatus, IssueJob, ReasonCategory
from lms.api import PAGE_QUERY, api_route, current_api_user, json_body, paged, paged_schema, schema
from lms.db import db
from lms.domain import Role
from lms.errors import Forbidden, NotFound, ValidationFailed
from lms.scoping import get_visible, visible
from lms.templating import today_local

STATUS_ENUM = [s.value for s in CertificateStatus]
CertificateSchema = schema("Certificate", {"type": "object", "properties": {
    "number": {"type": "string"}, "status": {"type": "string", "enum": STATUS_ENUM},
    "holder_name": {"type": "string"}, "tier": {"type": "string", "enum": ["basic", "advanced", "senior"]},
    "issued_on": {"type": "string", "format": "date"}, "valid_until": {"type": "string", "format": "date"},
    "verify_url": {"type": "string"}, "institution": {"type": "string"}, "bureau": {"type": "string"},
    "programme": {"type": "string"}, "class_name": {"type": "string"},
    "superseded_by": {"type": "string", "nullable": True}}})
VerificationSchema = schema("CertificateVerification", {"type": "object", "properties": {
    "status": {"type": "string", "enum": STATUS_ENUM + ["unknown"]}, "signature_valid": {"type": "boolean"},
    "number": {"type": "string"}, "holder_name": {"type": "string", "description": "masked"},
    "tier": {"type": "string"}, "institution": {"type": "string"}, "bureau": {"type": "string"},
    "issued_on": {"type": "string"}, "valid_until": {"type": "string"},
    "status_changed_on": {"type": "string"}, "reason_category": {"type": "string"},
    "superseded_by": {"type": "object"}}})
RevokeInput = schema("RevokeInput", {"type": "object", "required": ["reason"], "properties": {
    "reason": {"type": "string", "description": "a reason category (" + ", ".join(ReasonCategory.__members__)
               + ") or a free-text reason (recorded under 'other')"},
    "note": {"type": "string"}}})
IssueInput = schema("IssueInput", {"type": "object", "properties": {
    "enrollment_ids": {"type": "array", "items": {"type": "integer"},
                       "description": "omit to issue for every approved enrolment of the class"}}})
JobSchema = schema("CertificateIssueJob", {"type": "object", "properties": {
    "job_id": {"type": "integer"}, "status": {"type": "string"}, "total": {"type": "integer"},
    "done": {"type": "integer"}, "issued": {"type": "integer"}, "skipped": {"type": "integer"},
    "failed": {"type": "integer"}, "percent": {"type": "integer"}, "items": {"type": "array", "items": {"type": "object"}}}})


def certificate_json(c: Certificate) -> dict:
    snap = c.snapshot or {}
    return {
        "number": c.number, "status": services.effective_status(c, today_local()).value,
        "holder_name": c.holder_name, "tier": c.tier.value, "issued_on": c.issued_on.isoformat(),
        "valid_until": c.valid_until.isoformat(),
        "verify_url": services.verify_url(c, current_app.config["PUBLIC_BASE_URL"]),
        "institution": snap.get("institution", ""), "bureau": snap.get("bureau", ""),
        "programme": snap.get("programme", ""), "class_name": snap.get("class_name", ""),
        "superseded_by": c.superseded_by.number if c.superseded_by else None,
    }


def _by_number(number: str, user) -> Certificate:
    cid = db.session.scalar(select(Certificate.id).where(Certificate.number == number))
    if cid is None:
        raise NotFound(_("证书不存在或无权查看"))
    return get_visible(db.session, Certificate, cid, user)


@api_route("/certificates", summary="可见的证书", response=paged_schema(CertificateSchema),
           query=PAGE_QUERY + [{"name": "status", "in": "query", "schema": {"type": "string", "enum": STATUS_ENUM}},
                               {"name": "class_id", "in": "query", "schema": {"type": "integer"}}],
           tags=("certificates",))
def certificates_list():
    user = current_api_user()
    stmt = visible(Certificate, user).order_by(Certificate.id)
    if (status := request.args.get("status")) in CertificateStatus.__members__:
        stmt = stmt.where(Certificate.status == CertificateStatus(status))
    if (class_id := request.args.get("class_id", type=int)) is not None:
        stmt = stmt.where(Certificate.class_id == class_id)
    return paged(db.session, stmt, certificate_json)


@api_route("/certificates/<number>", summary="证书详情", response=CertificateSchema, tags=("certificates",))
def certificate_get(number: str):
    return jsonify(certificate_json(_by_number(number, current_api_user())))


# No ``roles=`` here: the service refuses everyone but province and city bureaus itself, and audits the attempt.
@api_route("/certificates/<number>/revoke", ("POST",), summary="撤销证书（省、市级监管部门）", body=RevokeInput, response=CertificateSchema, tags=("certificates",))
def certificate_revoke(number: str):
    user = current_api_user()
    cert = _by_number(number, user)
    data = json_body()
    reason = str(data.get("reason") or "").strip()
    note = str(data.get("note") or "").strip()
    if not reason:
        raise ValidationFailed({"reason": _("请填写撤销原因")})
    if reason not in ReasonCategory.__members__:
        reason, note = ReasonCategory.other.value, (reason + ("；" + note if note else ""))
    try:
        services.change_status(db.session, user, cert, "revoke", reason, note, today_local())
    except Forbidden:
        db.session.commit()  # keeps the audit entry of the refused change; nothing else was changed
        raise
    db.session.commit()
    return jsonify(certificate_json(cert))


@api_route("/certificates/<number>/certificate.<fmt>", summary="下载证书（pdf 或 png）", tags=("certificates",))
def certificate_download(number: str, fmt: str):
    cert = _by_number(number, current_api_user())
    if fmt not in ("pdf", "png"):
        raise NotFound(_("格式只能是 pdf 或 png"))
    args = dict(snapshot=cert.snapshot, number=cert.number, issued_on=cert.issued_on.isoformat(),
                valid_until=cert.valid_until.isoformat(),
                url=services.verify_url(cert, current_app.config["PUBLIC_BASE_URL"]))
    data = rendering.render_pdf(**args) if fmt == "pdf" else rendering.render_png(**args)
    return send_file(io.BytesIO(data), mimetype="application/pdf" if fmt == "pdf" else "image/png",
                     as_attachment=True, download_name=f"{cert.number}.{fmt}")


@api_route("/certificates/<number>/credential", summary="Open Badges 3.0 可验证凭证（JWT，EdDSA）",
           tags=("certificates",))
def certificate_credential(number: str):
    cert = _by_number(number, current_api_user())
    return current_app.response_class(export.credential_jwt(cert, services.CertConfig.from_app(current_app)),
                                      mimetype="application/vc+jwt")


@api_route("/classes/<int:class_id>/certificates/issue", ("POST",), summary="为培训班（或指定学员）发证，后台执行",
           roles=(Role.institution_staff, Role.regulator_admin, Role.system_admin), body=IssueInput,
           response=JobSchema, tags=("certificates",))
def certificates_issue(class_id: int):
    from certificates.views import _launch

    user = current_api_user()
    cls = services.get_class(db.session, user, class_id)
    data = request.get_json(silent=True) or {}
    ids = data.get("enrollment_ids")
    if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, int) for i in ids)):
        raise ValidationFailed({"enrollment_ids": _("enrollment_ids 须为整数数组")})
    job = worker.start_job(db.session, user, cls, ids)
    db.session.commit()
    if job.status == "pending":
        _launch(job.id)
    db.session.expire_all()
    job = db.session.get(IssueJob, job.id)
    out = worker.progress(job)
    out["progress_url"] = url_for("api.certificate_job", job_id=job.id)
    return jsonify(out), 202


@api_route("/certificate-jobs/<int:job_id>", summary="发证任务进度", response=JobSchema, tags=("certificates",))
def certificate_job(job_id: int):
    job = get_visible(db.session, IssueJob, job_id, current_api_user())
    out = worker.progress(job)
    out["items"] = [{"enrollment_id": i.enrollment_id, "status": i.status, "message": i.message} for i in job.items]
    return jsonify(out)


@api_route("/verify/<cid>", public=True, summary="公开核验证书（无需令牌；sig 为二维码网址 # 后的签名部分）",
           response=VerificationSchema, query=[{"name": "sig", "in": "query", "schema": {"type": "string"}}],
           tags=("certificates",))
@verify_rate
def public_verify(cid: str):
    cert = services.find_public(db.session, cid)
    if cert is None:
        services.log_verification(db.session, None, "api", "unknown", batched=batched_log())
        db.session.commit()
        return jsonify({"status": "unknown"}), 404
    out = services.public_view(db.session, cert, today_local())
    sig = request.args.get("sig")
    sig_valid = None
    if sig is not None:
        sig_valid = services.signature_matches(cert, sig, keys.public_document(current_app.config["CERT_KEY_DIR"]))
        out["signature_valid"] = sig_valid
    services.log_verification(db.session, cert, "api", out["status"], sig_valid, batched=batched_log())
    db.session.commit()
    resp = jsonify(out)
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp
