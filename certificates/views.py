"""Certificate pages: staff issue and download, bureaus suspend and revoke, trainees download their own;
the public verification page ``/v/<cid>`` and the published keys. Registered by ``certificates.wiring``."""
from __future__ import annotations

import io
import json
import mimetypes
from pathlib import Path

from flask import (Blueprint, Response, abort, current_app, flash, jsonify, redirect, render_template, request,
                   send_file, session, url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select
from werkzeug.security import safe_join

from certificates import export, keys, photos, public_answers, queries, services, worker
from certificates import status_list as status_lists
from certificates import partners as partner_trust
from certificates.forms import HolderCheckForm, IssueForm, PartnerForm, PhotoForm, ReissueForm, SettingsForm, StatusForm
from certificates.limits import holder_rate, holder_rate_per_certificate, verify_rate, verify_rate_get
from certificates.models import Certificate, CertificateStatus, HolderPhoto, IssueJob, IssuerKind, PartnerProvince
from certificates.verification_log import batched_log
from courses.models import TrainingClass
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.domain import Role, Tier
from lms.errors import Forbidden
from lms.extensions import csrf, select_locale
from lms.forms import submit
from lms.orgs.models import Institution, Region, Regulator
from lms.scoping import get_visible
from lms.templating import paginate, today_local
from lms.web import cache_publicly
from lms import storage
from lms.uploads import StoredFile

# Public endpoints are named ``public_*`` (the platform's anonymous-access test relies on it); the
# blueprint's scripts are served by one of them rather than by a ``certificates.static`` endpoint.
bp = Blueprint("certificates", __name__, template_folder="templates")
STATIC_DIR = Path(__file__).resolve().parent / "static"
STAFF = (Role.institution_staff, Role.regulator_admin, Role.system_admin)


def cfg() -> services.CertConfig:
    return services.CertConfig.from_app(current_app)


# ------------------------------------------------------------------ lists and downloads
@bp.route("/certificates")
@login_required
def index():
    """The certificates the user may see, searchable by number or holder and filtered by status."""
    q = (request.args.get("q") or "").strip()[:64]
    stmt = queries.certificates(current_user, q=q, status=request.args.get("status"))
    page = paginate(db.session, stmt.order_by(Certificate.issued_on.desc(), Certificate.id.desc()))
    return render_template("certificates/index.html", page=page, q=q, CertificateStatus=CertificateStatus,
                           today=today_local(), effective=services.effective_status)


@bp.route("/certificates/<int:cert_id>", methods=["GET", "POST"])
@login_required
def detail(cert_id: int):
    """One certificate: its status and history, with the bureau's and the staff's actions where allowed."""
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    return render_template("certificates/detail.html", cert=cert, status_form=StatusForm(prefix="st"),
                           reissue_form=ReissueForm(prefix="re"),
                           can_status=services.can_change_status(current_user, cert),
                           can_reissue=current_user.role in STAFF,
                           status=services.effective_status(cert, today_local()),
                           verify_url=services.qr_url(cert, cfg()))


def _status_changed(cert: Certificate) -> str:
    flash(_("证书状态已更新为「%(s)s」", s=cert.status.label), "success")
    return url_for("certificates.detail", cert_id=cert.id)


@bp.route("/certificates/<int:cert_id>/status", methods=["POST"])
@login_required  # the service refuses (and audits) everyone but province and city bureaus
def change_status(cert_id: int):
    """Suspend, reinstate or revoke (revoking is the same use case as the API's revoke)."""
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    form = StatusForm(prefix="st")
    back = url_for("certificates.detail", cert_id=cert_id)
    if not form.validate_on_submit():
        flash(_("请检查填写的内容"), "danger")
        return redirect(back)
    try:
        return submit(None, lambda: services.apply_status_action(
            db.session, current_user, cert, form.action.data, form.reason.data, form.note.data, today_local()),
            redirect_to=_status_changed) or redirect(back)
    except Forbidden as exc:
        db.session.commit()  # keeps the audit entry of the refused change; nothing else was changed
        flash(exc.message, "danger")
        return redirect(back)


def _reissued(new: Certificate) -> str:
    flash(_("已换发新证书 %(n)s，原证书核验时显示为已换发", n=new.number), "success")
    return url_for("certificates.detail", cert_id=new.id)


@bp.route("/certificates/<int:cert_id>/reissue", methods=["POST"])
@roles_required(*STAFF)
def reissue(cert_id: int):
    """Correct a certificate: a new one supersedes it."""
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    form = ReissueForm(prefix="re")
    back = url_for("certificates.detail", cert_id=cert_id)
    if not form.validate_on_submit():
        flash(_("请填写换发原因（2-500 字）"), "danger")
        return redirect(back)
    return submit(None, lambda: services.reissue(db.session, current_user, cert, form.note.data, cfg(), today_local()),
                  redirect_to=_reissued) or redirect(back)


@bp.route("/certificates/<int:cert_id>/certificate.<fmt>")
@login_required
def download(cert_id: int, fmt: str):
    """The printable certificate (PNG or PDF): the same file as the API's download."""
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    file = services.certificate_file(cert, fmt, cfg())
    return send_file(io.BytesIO(file.data), mimetype=file.mimetype, as_attachment=True, download_name=file.filename)


@bp.route("/certificates/<int:cert_id>/credential.jwt")
@login_required
def credential(cert_id: int):
    """The certificate as a signed Open Badges 3.0 credential (JWT)."""
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    token = export.credential_jwt(cert, cfg())
    return current_app.response_class(token, mimetype="application/vc+jwt", headers={
        "Content-Disposition": f'attachment; filename="{cert.number}.jwt"'})


# ------------------------------------------------------------------ issuing
@bp.route("/certificates/classes")
@roles_required(*STAFF)
def classes():
    """The classes the user may issue certificates for."""
    page = paginate(db.session, queries.classes_for(db.session, current_user))
    return render_template("certificates/classes.html", page=page)


@bp.route("/certificates/classes/<int:class_id>")
@roles_required(*STAFF)
def class_page(class_id: int):
    """A class's enrolments with their completion checks and certificates, and the last issue job's progress."""
    cls = services.get_class(db.session, current_user, class_id)
    job = queries.latest_job(db.session, cls.id)
    return render_template("certificates/class.html", cls=cls, rows=queries.class_rows(db.session, cls),
                           form=IssueForm(), job=job, job_progress=queries.progress(job) if job else None)


def _start_job(cls: TrainingClass, enrollment_ids: list[int] | None) -> IssueJob:
    job = worker.start_job(db.session, current_user, cls, enrollment_ids)
    db.session.commit()
    worker.start(current_app._get_current_object(), job, today_local())
    return job


def _started(job: IssueJob) -> str:
    worker.start(current_app._get_current_object(), job, today_local())
    flash(_("已开始发证，进度见下方"), "info")
    return url_for("certificates.class_page", class_id=job.class_id)


@bp.route("/certificates/classes/<int:class_id>/issue", methods=["POST"])
@roles_required(*STAFF)
def issue(class_id: int):
    """Start issuing the class's certificates (every approved enrolment, or the one given) in the background."""
    cls = services.get_class(db.session, current_user, class_id)
    form = IssueForm()
    if not form.validate_on_submit():
        abort(400)
    ids = [int(form.enrollment_id.data)] if (form.enrollment_id.data or "").isdigit() else None
    if request.accept_mimetypes.best == "application/json":  # the page's script; a refusal comes back as JSON
        job = _start_job(cls, ids)
        return jsonify({"job_id": job.id, "progress_url": url_for("certificates.job_progress", job_id=job.id)}), 202
    return submit(None, lambda: worker.start_job(db.session, current_user, cls, ids), redirect_to=_started) \
        or redirect(url_for("certificates.class_page", class_id=class_id))


@bp.route("/certificates/jobs/<int:job_id>.json")
@roles_required(*STAFF)
def job_progress(job_id: int):
    """An issue job's progress, polled by the class page."""
    return jsonify(queries.progress_with_items(get_visible(db.session, IssueJob, job_id, current_user)))


@bp.route("/certificates/classes/<int:class_id>/certificates.zip")
@roles_required(*STAFF)
def class_zip(class_id: int):
    """Every certificate in force of the class, as PDFs in one ZIP."""
    cls = services.get_class(db.session, current_user, class_id)
    certs = queries.class_certificates(db.session, current_user, cls)
    if not certs:
        flash(_("该培训班还没有证书"), "warning")
        return redirect(url_for("certificates.class_page", class_id=class_id))
    return send_file(io.BytesIO(services.certificates_zip(certs, cfg())), mimetype="application/zip",
                     as_attachment=True, download_name=f"certificates-{cls.id}.zip")


# ------------------------------------------------------------------ province settings
def _settings_province() -> Region:
    if current_user.role == Role.regulator_admin:
        province = current_user.region
        if province is None or province.parent_id is not None:
            abort(403)
        return province
    return db.session.get(Region, request.args.get("province", type=int) or 0) or abort(404)


@bp.route("/certificates/settings", methods=["GET", "POST"])
@roles_required(Role.regulator_admin, Role.system_admin)
def settings():
    """A province's certificate number pattern and issuer per tier."""
    province = _settings_province()
    pattern, issuers = services.settings_for(db.session, province)
    row = services.settings_row(db.session, province)
    form = SettingsForm(data={"number_pattern": pattern, **{f"issuer_{k}": v for k, v in issuers.items()},
                              "holder_photo": row.holder_photo})
    if form.validate_on_submit():
        chosen = {"basic": form.issuer_basic.data, "advanced": form.issuer_advanced.data,
                  "senior": form.issuer_senior.data}
        done = submit(form, lambda: services.save_settings(db.session, current_user, province,
                                                           form.number_pattern.data, chosen, form.holder_photo.data),
                      success=_("证书规则已保存"), redirect_to=request.full_path)
        if done is not None:
            return done
    return render_template("certificates/settings.html", form=form, province=province, row=row)


# ------------------------------------------------------------------ the holder's photo (issue 16)
@bp.route("/certificates/my-photo", methods=["GET", "POST"])
@body_limit(photos.MAX_UPLOAD_BYTES + FORM_ROOM)
@roles_required(Role.trainee)
def my_photo():
    """The trainee's ID-style photo for certificates: upload (re-encoded, no metadata kept) and see the current one."""
    form = PhotoForm()
    if form.validate_on_submit():
        upload = request.files.get("photo")
        done = submit(form, lambda: photos.save_photo(db.session, current_user, upload.stream if upload else io.BytesIO(),
                                                      upload.filename if upload else "", current_app.config["UPLOAD_DIR"]),
                      success=_("证书照片已保存"), redirect_to=url_for("certificates.my_photo"))
        if done is not None:
            return done
    return render_template("certificates/photo.html", form=form,
                           photo=photos.photo_of(db.session, current_user.id), min_side=photos.MIN_SIDE,
                           max_mb=photos.MAX_UPLOAD_BYTES // (1024 * 1024))


@bp.route("/certificates/photos/<int:photo_id>")
@login_required
def photo(photo_id: int):
    """A holder's photo, inline, for the holder and the staff of the holder's classes (scoped; never cached)."""
    row = get_visible(db.session, HolderPhoto, photo_id, current_user)
    stored = db.session.get(StoredFile, row.stored_file_id)
    try:
        data = storage.read_bytes(db.session, current_app.extensions["lms_db"].sessionmaker,
                                  current_app.config["UPLOAD_DIR"], stored.relative_path)
    except (AttributeError, FileNotFoundError, storage.ChecksumMismatch):
        abort(404)
    resp = send_file(io.BytesIO(data), mimetype="image/jpeg", download_name="photo.jpg")
    resp.headers["Cache-Control"] = "private, no-store"
    return resp


# ------------------------------------------------------------------ public verification
@bp.route("/v/", defaults={"cid": ""}, methods=["GET", "POST"])
@bp.route("/v/<path:cid>", methods=["GET", "POST"])  # a mangled id still gets the red page, not a bare 404
@csrf.exempt  # the holder check's form carries no token (HolderCheckForm): the page carries no session
@verify_rate_get
def public_verify(cid: str):
    """What a phone shows after scanning an old code. The signed part stays in the fragment; the page's script
    sends it to the JSON endpoint to check the signature. Status and fields show without script; without a
    fragment the page says the signature was not checked (not that it is forged). A GET is one statement and,
    under its ETag, a page rendered once a process (certificates.public_answers)."""
    if request.method in ("GET", "HEAD"):
        return _public_get(cid)
    cert = services.find_public(db.session, cid)
    if cert is None:
        services.log_verification(db.session, None, "page", "unknown", batched=batched_log())
        db.session.commit()
        return _public(current_app.make_response((render_template("certificates/verify_failed.html"), 404)))
    return _public(current_app.make_response(
        _verify_page(cert, api_url=url_for("api.public_verify", cid=cert.cid), signature_checked=False)))


def _public_get(cid: str):
    found = public_answers.scan(cid, "page")
    if found is None:
        return _public(current_app.make_response((render_template("certificates/verify_failed.html"), 404)))
    rec, today, config = found.record, found.today, current_app.config
    etag = rec.etag(today, "page", select_locale())

    def build() -> str:
        return public_answers.page_answer(db.session, rec, today)

    if request.if_none_match.contains(etag):
        page = ""  # the 304 needs no page
    elif session.get("_flashes"):  # a message waiting for this visitor is shown once, never kept
        page = build()
    else:  # the page's links depend on the prefix the application is mounted under
        page = public_answers.body((etag, request.script_root), build, config["CERT_VERIFY_BODY_CACHE"])
    return cache_publicly(current_app.make_response(page), config["CERT_VERIFY_CACHE_SECONDS"], etag=etag)


def _public(resp):
    """The verification page's GET may be kept briefly by a proxy and revalidated by its ETag (lms.web)."""
    return cache_publicly(resp, current_app.config["CERT_VERIFY_CACHE_SECONDS"])


@bp.route("/C/<path:token>", methods=["GET", "POST"])
@bp.route("/c/<path:token>", methods=["GET", "POST"])  # the path is case-insensitive (typed by hand)
@csrf.exempt  # as /v/: no session, no token
@verify_rate
def public_verify_compact(token: str):
    """What a phone shows after scanning the printed code ``HTTPS://HOST/C/<TOKEN>`` (docs/certificates-qr.md):
    the server checks the signature and the key's window with the published keys, finds the certificate by its
    number and requires the signed fields to be the record's; then the same page as ``/v/``, with the status from
    the database and the signature shown as checked. Anything else is "not found", with no detail. The token
    carries the holder's name: no referrer leaves the page, and the access log elides it (lms.requestlog)."""
    cert = services.find_by_token(db.session, token.strip("/"),
                                  keys.public_document(current_app.config["CERT_KEY_DIR"]))
    if cert is None:
        services.log_verification(db.session, None, "page", "unknown", batched=batched_log())
        db.session.commit()
        resp = current_app.make_response((render_template("certificates/verify_failed.html"), 404))
    else:
        resp = current_app.make_response(_verify_page(cert, api_url="", signature_checked=True))
    resp.headers["Referrer-Policy"] = "no-referrer"
    return _public(resp)


def _verify_page(cert, api_url: str, signature_checked: bool):
    view = services.public_view(db.session, cert, today_local(), current_app.config["CERT_KEY_DIR"])
    form = HolderCheckForm()
    holder_result = None
    if request.method == "POST":
        holder_result = _holder_check(cert, form)
        if holder_result is not None:
            form = HolderCheckForm(formdata=None)  # never echo the typed ID number back
    else:
        services.log_verification(db.session, cert, "page", view["status"],
                                  signature_valid=True if signature_checked else None, batched=batched_log())
    db.session.commit()
    return render_template("certificates/verify.html", cert=cert, view=view, form=form, holder_result=holder_result,
                           api_url=api_url, signature_checked=signature_checked, fragment=public_answers.uncached)


@holder_rate
@holder_rate_per_certificate
def _holder_check(cert: Certificate, form: HolderCheckForm) -> bool | None:
    if not form.validate_on_submit():
        return None
    return services.holder_check(db.session, cert, form.id_number.data)


@bp.route("/.well-known/cqo-certificate-keys.json")
def public_keys():
    """The published public keys that verify certificate signatures (for offline verifiers)."""
    resp = jsonify(keys.public_document(current_app.config["CERT_KEY_DIR"]))
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.route("/certificates/static/<path:filename>")
def public_static(filename: str):
    """The feature's scripts, public (the verification page uses them). Read whole: no file left open."""
    path = safe_join(str(STATIC_DIR), filename)
    if path is None or not Path(path).is_file():
        abort(404)
    resp = Response(Path(path).read_bytes(), mimetype=mimetypes.guess_type(path)[0] or "application/octet-stream")
    resp.headers["Cache-Control"] = "public, max-age=3600"
    return resp


# ------------------------------------------------------------------ public documents of the Open Badges credential
def _public_json(doc: dict, mimetype: str = "application/json") -> Response:
    resp = current_app.response_class(json.dumps(doc, ensure_ascii=False), mimetype=mimetype)
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.route("/.well-known/cqo-certificate-keys/<kid>")
def public_key(kid: str):
    """One published key as a JWK: what a credential's ``kid`` URL resolves to (``-es256``: its P-256 twin)."""
    alg = "ES256" if kid.endswith("-es256") else "EdDSA"
    try:
        doc = keys.jwk(current_app.config["CERT_KEY_DIR"], kid.removesuffix("-es256"), alg)
    except (KeyError, FileNotFoundError):
        abort(404)
    return _public_json(doc, "application/jwk+json")


@bp.route("/issuers/<kind>-<int:issuer_id>")
def public_issuer_profile(kind: str, issuer_id: int):
    """The Open Badges 3.0 issuer profile a credential's ``issuer.id`` resolves to."""
    model = {IssuerKind.institution.value: Institution, IssuerKind.bureau.value: Regulator}.get(kind)
    row = db.session.get(model, issuer_id) if model is not None else None
    if row is None:
        abort(404)
    return _public_json(export.issuer_profile(cfg(), kind, issuer_id, row.name))


@bp.route("/achievements/cqo-<tier>")
def public_achievement(tier: str):
    """The Open Badges 3.0 achievement a credential's ``achievement.id`` resolves to."""
    if tier not in Tier.__members__:
        abort(404)
    return _public_json(export.achievement(cfg(), tier, str(Tier(tier).label)))


@bp.route("/status-lists/<purpose>")
def public_status_list(purpose: str):
    """The signed W3C Bitstring Status List of revoked (``revocation``) or suspended (``suspension``) certificates."""
    if purpose not in status_lists.PURPOSES:
        abort(404)
    token = status_lists.credential_jwt(db.session, cfg(), purpose)
    resp = current_app.response_class(token, mimetype="application/vc+jwt")
    resp.headers["Cache-Control"] = "public, max-age=300"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


# ------------------------------------------------------------------ the installable offline verifier (phone)
# The offline verifier's words: the very sentences of the command line (certificates.verdicts,
# certificates.status_verdict), so that the phone and the CLI say the same thing (test_verifiers_same_wording).
OFFLINE_TEXTS = {
    "valid": lambda: _("签名有效：证书内容由发证机关签发，未被篡改"),
    "expired": lambda: _("已过期：签名有效，但证书已超过有效期"),
    "bad_signature": lambda: _("无法验证：签名与内容不符（证书可能被伪造或篡改）"),
    "unknown_key": lambda: _("无法验证：签名密钥不在公布的密钥文件中"),
    "outside_window": lambda: _("不予认可：证书日期不在其签名密钥的有效期内"),
    "malformed": lambda: _("无法验证：签名部分不完整或格式错误"),
    "revoked": lambda: _("不予认可：签名有效，但下载的状态列表显示该证书已被撤销"),
    "suspended": lambda: _("不予认可：签名有效，但下载的状态列表显示该证书已被暂停"),
    "status_age": lambda: _("状态列表更新于 %(t)s（北京时间）；之后的撤销无法得知"),
    "no_status_list": lambda: _("离线核验只能证明签名真实；证书是否被暂停、撤销或换发，请联网扫码查看。"),
    "no_index": lambda: _("（二维码未载明证书在列表中的位置，无法查到此证书）"),
    "compare": lambda: _("请核对：纸质证书上印的持证人姓名、证书编号、发证日期和有效期至，必须与上面显示的逐字一致；"
                         "任何一项不同，都说明二维码不属于这张证书。"),
    "compare_nothing": lambda: _("没有可核对的内容：请勿仅凭这张证书认定持证人资格，请向发证机关核实。"),
    "expected": lambda: _("（应为：%(name)s，%(number)s，%(start)s 至 %(end)s）"),
    "photo_compare": lambda: _("持证人须与证书上的照片为同一人，照片下方印的指纹须与此相同。请核对持证人照片：指纹 %(fp)s"),
    "no_trust_list": lambda: _("本机没有保存发证机关的公钥：请联网打开一次核验页面后再离线使用"),
    "no_link": lambda: _("请扫描证书上的二维码打开核验链接"),
    "no_end": lambda: _("长期有效"),
}


@bp.route("/verify-offline")
def public_verify_offline():
    """The offline verifier's page: the service worker serves it for a certificate link when there is no network."""
    texts = {k: f() for k, f in OFFLINE_TEXTS.items()}
    texts["tiers"] = {t.value: str(t.label) for t in Tier}
    return render_template("certificates/verify_offline.html", texts=texts)


@bp.route("/verify-sw.js")
def public_verify_service_worker():
    """The verify pages' service worker, served from the root so that it may control /v/ and /C/ links."""
    resp = Response((STATIC_DIR / "verify-sw.js").read_bytes(), mimetype="text/javascript")
    resp.headers["Cache-Control"] = "no-cache"
    return resp


@bp.route("/verify.webmanifest")
def public_verify_manifest():
    """The web app manifest that makes the verify page installable."""
    icon = lambda n: {"src": url_for("certificates.public_static", filename=f"icons/verify-{n}.png"),  # noqa: E731
                      "sizes": f"{n}x{n}", "type": "image/png", "purpose": "any"}
    doc = {"name": _("首席质量官证书核验"), "short_name": _("证书核验"), "start_url": "/verify-offline", "scope": "/",
           "display": "standalone", "background_color": "#ffffff", "theme_color": "#8b1a1a", "lang": "zh-CN",
           "icons": [icon(192), icon(512)]}
    return _public_json(doc, "application/manifest+json")


# ------------------------------------------------------------------ partner provinces (recognition across regions)
@bp.route("/certificates/partners", methods=["GET", "POST"])
@roles_required(Role.system_admin)
def partners():
    """The trust list of partner provinces whose certificates verify here."""
    form = PartnerForm()
    if form.validate_on_submit():
        done = submit(form, lambda: partner_trust.add_partner(db.session, current_user, form.name.data,
                                                              form.base_url.data, form.keys.data,
                                                              form.agreement_note.data),
                      success=_("已加入互认名单"), redirect_to=url_for("certificates.partners"))
        if done is not None:
            return done
    rows = db.session.scalars(select(PartnerProvince).order_by(PartnerProvince.name)).all()
    return render_template("certificates/partners.html", form=form, partners=rows)


@bp.route("/verify-partner")
@verify_rate
def public_verify_partner():
    """A partner province's certificate, checked here: paste (or scan into) the link from its QR code."""
    link = (request.args.get("link") or "").strip()[:2048]
    result = partner_trust.check_link(db.session, link, today=today_local(),
                                     timeout=current_app.config["PARTNER_STATUS_TIMEOUT"]) if link else None
    return render_template("certificates/verify_partner.html", link=link, result=result,
                           tier_labels={t.value: t.label for t in Tier},
                           status_labels={s.value: s.label for s in CertificateStatus})
