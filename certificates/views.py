"""Certificate pages: staff issue and download, bureaus suspend and revoke, trainees download their own;
the public verification page ``/v/<cid>`` and the published keys."""
from __future__ import annotations

import io
import zipfile
from pathlib import Path

import click
from flask import (Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, send_file,
                   send_from_directory,
                   url_for)
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import or_, select

from certificates import demo, integration  # noqa: F401  (register the demo seed hook and the enrolment checks)
from certificates import export, keys, rendering, services, worker
from certificates.forms import HolderCheckForm, IssueForm, ReissueForm, SettingsForm, StatusForm
from certificates.models import Certificate, CertificateStatus, IssueJob
from courses.models import Enrollment, EnrollmentStatus
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import Role
from lms.errors import DomainError, Forbidden, ValidationFailed
from certificates.limits import holder_rate, holder_rate_per_certificate, verify_rate
from certificates.verification_log import batched_log
from lms.forms import apply_errors
from lms.orgs.models import Region
from lms.scoping import get_visible, visible
from lms.core_views import add_home_panel
from lms.templating import add_nav, paginate, today_local

# Public endpoints are named ``public_*`` (the platform's anonymous-access test relies on it); the
# blueprint's scripts are served by one of them rather than by a ``certificates.static`` endpoint.
bp = Blueprint("certificates", __name__, template_folder="templates", cli_group="cert-keys")
STATIC_DIR = Path(__file__).resolve().parent / "static"
STAFF = (Role.institution_staff, Role.regulator_admin, Role.system_admin)


def cfg() -> services.CertConfig:
    return services.CertConfig.from_app(current_app)


@add_nav
def _nav(user):
    if user.role == Role.trainee:
        return [("certificates.index", _("我的证书"))]
    items = []
    if user.role in STAFF:
        items = [("certificates.classes", _("发证")), ("certificates.index", _("证书"))]
    if user.role == Role.regulator_admin and user.region is not None and user.region.parent_id is None:
        items.append(("certificates.settings", _("证书规则")))
    return items


@add_home_panel
def _home(session, user) -> list[dict]:
    from sqlalchemy import func

    stmt = visible(Certificate, user)
    if user.role == Role.trainee:
        certs = session.scalars(stmt.order_by(Certificate.issued_on.desc()).limit(5)).all()
        today = today_local()
        return [{"title": _("我的证书"), "url": url_for("certificates.index"),
                 "items": [f"{c.number} · {c.tier.label} · {services.effective_status(c, today).label}" for c in certs]
                 or [_("暂无证书")]}]
    if user.role in STAFF:
        n = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        return [{"title": _("证书"), "url": url_for("certificates.index"), "items": [_("可查看的证书 %(n)d 张", n=n)]}]
    return []


# ------------------------------------------------------------------ lists and downloads
@bp.route("/certificates")
@login_required
def index():
    stmt = visible(Certificate, current_user).order_by(Certificate.issued_on.desc(), Certificate.id.desc())
    q = (request.args.get("q") or "").strip()[:64]
    if q:
        stmt = stmt.where(or_(Certificate.number == q, Certificate.holder_name.contains(q)))
    if (status := request.args.get("status")) in CertificateStatus.__members__:
        stmt = stmt.where(Certificate.status == CertificateStatus(status))
    page = paginate(db.session, stmt)
    return render_template("certificates/index.html", page=page, q=q, CertificateStatus=CertificateStatus,
                           today=today_local(), effective=services.effective_status)


def _render_files(cert: Certificate) -> tuple[dict, str]:
    url = services.verify_url(cert, cfg().base_url)
    return dict(snapshot=cert.snapshot, number=cert.number, issued_on=cert.issued_on.isoformat(),
                valid_until=cert.valid_until.isoformat(), url=url), url


@bp.route("/certificates/<int:cert_id>", methods=["GET", "POST"])
@login_required
def detail(cert_id: int):
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    status_form = StatusForm(prefix="st")
    reissue_form = ReissueForm(prefix="re")
    can_status = services.can_change_status(current_user, cert)
    return render_template("certificates/detail.html", cert=cert, status_form=status_form, reissue_form=reissue_form,
                           can_status=can_status, can_reissue=current_user.role in STAFF,
                           status=services.effective_status(cert, today_local()),
                           verify_url=services.verify_url(cert, cfg().base_url))


@bp.route("/certificates/<int:cert_id>/status", methods=["POST"])
@login_required  # the service refuses (and audits) everyone but province and city bureaus
def change_status(cert_id: int):
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    form = StatusForm(prefix="st")
    if form.validate_on_submit():
        try:
            services.change_status(db.session, current_user, cert, form.action.data, form.reason.data or None,
                                   form.note.data or "", today_local())
        except ValidationFailed as exc:
            db.session.rollback()
            flash("；".join(exc.errors.values()), "danger")
        except Forbidden as exc:
            db.session.commit()  # keeps the audit entry of the refused change; nothing else was changed
            flash(exc.message, "danger")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("证书状态已更新为「%(s)s」", s=cert.status.label), "success")
    else:
        flash(_("请检查填写的内容"), "danger")
    return redirect(url_for("certificates.detail", cert_id=cert_id))


@bp.route("/certificates/<int:cert_id>/reissue", methods=["POST"])
@roles_required(*STAFF)
def reissue(cert_id: int):
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    form = ReissueForm(prefix="re")
    if not form.validate_on_submit():
        flash(_("请填写换发原因（2-500 字）"), "danger")
        return redirect(url_for("certificates.detail", cert_id=cert_id))
    try:
        new = services.reissue(db.session, current_user, cert, form.note.data, cfg(), today_local())
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "danger")
        return redirect(url_for("certificates.detail", cert_id=cert_id))
    db.session.commit()
    flash(_("已换发新证书 %(n)s，原证书核验时显示为已换发", n=new.number), "success")
    return redirect(url_for("certificates.detail", cert_id=new.id))


@bp.route("/certificates/<int:cert_id>/certificate.<fmt>")
@login_required
def download(cert_id: int, fmt: str):
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    if fmt not in ("png", "pdf"):
        abort(404)
    args, _url = _render_files(cert)
    data = rendering.render_png(**args) if fmt == "png" else rendering.render_pdf(**args)
    return send_file(io.BytesIO(data), mimetype="image/png" if fmt == "png" else "application/pdf",
                     as_attachment=True, download_name=f"{cert.number}.{fmt}")


@bp.route("/certificates/<int:cert_id>/credential.jwt")
@login_required
def credential(cert_id: int):
    cert = get_visible(db.session, Certificate, cert_id, current_user)
    token = export.credential_jwt(cert, cfg())
    return current_app.response_class(token, mimetype="application/vc+jwt", headers={
        "Content-Disposition": f'attachment; filename="{cert.number}.jwt"'})


# ------------------------------------------------------------------ issuing
@bp.route("/certificates/classes")
@roles_required(*STAFF)
def classes():
    page = paginate(db.session, services.classes_for(db.session, current_user))
    return render_template("certificates/classes.html", page=page)


@bp.route("/certificates/classes/<int:class_id>")
@roles_required(*STAFF)
def class_page(class_id: int):
    cls = services.get_class(db.session, current_user, class_id)
    enrollments = db.session.scalars(select(Enrollment).where(
        Enrollment.class_id == cls.id, Enrollment.status == EnrollmentStatus.approved).order_by(Enrollment.id)).all()
    rows = []
    for e in enrollments:
        results = services.completion_check(db.session, e)
        rows.append({"enrollment": e, "name": services._holder_name(db.session, e.user), "results": results,
                     "complete": all(r.met for r in results), "certificate": services.current_certificate(db.session, e.id)})
    job = db.session.scalar(select(IssueJob).where(IssueJob.class_id == cls.id).order_by(IssueJob.id.desc()).limit(1))
    return render_template("certificates/class.html", cls=cls, rows=rows, form=IssueForm(), job=job,
                           job_progress=worker.progress(job) if job else None)


@bp.route("/certificates/classes/<int:class_id>/issue", methods=["POST"])
@roles_required(*STAFF)
def issue(class_id: int):
    cls = services.get_class(db.session, current_user, class_id)
    form = IssueForm()
    wants_json = request.accept_mimetypes.best == "application/json"
    if not form.validate_on_submit():
        abort(400)
    ids = [int(form.enrollment_id.data)] if (form.enrollment_id.data or "").isdigit() else None
    try:
        job = worker.start_job(db.session, current_user, cls, ids)
    except DomainError as exc:
        db.session.rollback()
        if wants_json:
            return jsonify({"message": exc.message}), exc.status
        flash(exc.message, "danger")
        return redirect(url_for("certificates.class_page", class_id=class_id))
    db.session.commit()
    if job.status == "pending":
        _launch(job.id)
    if wants_json:
        return jsonify({"job_id": job.id, "progress_url": url_for("certificates.job_progress", job_id=job.id)}), 202
    flash(_("已开始发证，进度见下方"), "info")
    return redirect(url_for("certificates.class_page", class_id=class_id))


def _launch(job_id: int) -> None:
    if current_app.config.get("CERT_ISSUE_INLINE"):
        # Tests share one connection between request and worker: work in the request instead of a thread.
        worker.process_job(current_app.extensions["lms_db"].sessionmaker, job_id, cfg(), today_local())
    else:
        worker.run_in_thread(current_app._get_current_object(), job_id, today_local())


@bp.route("/certificates/jobs/<int:job_id>.json")
@roles_required(*STAFF)
def job_progress(job_id: int):
    job = get_visible(db.session, IssueJob, job_id, current_user)
    out = worker.progress(job)
    out["items"] = [{"enrollment_id": i.enrollment_id, "status": i.status, "message": i.message} for i in job.items]
    return jsonify(out)


@bp.route("/certificates/classes/<int:class_id>/certificates.zip")
@roles_required(*STAFF)
def class_zip(class_id: int):
    cls = services.get_class(db.session, current_user, class_id)
    certs = db.session.scalars(visible(Certificate, current_user).where(
        Certificate.class_id == cls.id, Certificate.current_for_enrollment_id.is_not(None)).order_by(Certificate.number)).all()
    if not certs:
        flash(_("该培训班还没有证书"), "warning")
        return redirect(url_for("certificates.class_page", class_id=class_id))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for cert in certs:
            args, _url = _render_files(cert)
            zf.writestr(f"{cert.number}.pdf", rendering.render_pdf(**args))
    buf.seek(0)
    return send_file(buf, mimetype="application/zip", as_attachment=True, download_name=f"certificates-{cls.id}.zip")


# ------------------------------------------------------------------ province settings
@bp.route("/certificates/settings", methods=["GET", "POST"])
@roles_required(Role.regulator_admin, Role.system_admin)
def settings():
    if current_user.role == Role.regulator_admin:
        province = current_user.region
        if province is None or province.parent_id is not None:
            abort(403)
    else:
        province = db.session.get(Region, request.args.get("province", type=int) or 0) or abort(404)
    pattern, issuers = services.settings_for(db.session, province)
    form = SettingsForm(data={"number_pattern": pattern, **{f"issuer_{k}": v for k, v in issuers.items()}})
    if form.validate_on_submit():
        try:
            services.save_settings(db.session, current_user, province, form.number_pattern.data, {
                "basic": form.issuer_basic.data, "advanced": form.issuer_advanced.data, "senior": form.issuer_senior.data})
        except ValidationFailed as exc:
            db.session.rollback()
            apply_errors(form, exc)
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "danger")
        else:
            db.session.commit()
            flash(_("证书规则已保存"), "success")
            return redirect(request.full_path)
    return render_template("certificates/settings.html", form=form, province=province)


# ------------------------------------------------------------------ public verification
@bp.route("/v/", defaults={"cid": ""}, methods=["GET", "POST"])
@bp.route("/v/<path:cid>", methods=["GET", "POST"])  # a mangled id still gets the red page, not a bare 404
@verify_rate
def public_verify(cid: str):
    """What a phone shows after scanning. The signed part stays in the fragment; the page's script sends it to
    the JSON endpoint to check the signature. Status and fields show without script."""
    cert = services.find_public(db.session, cid)
    if cert is None:
        services.log_verification(db.session, None, "page", "unknown", batched=batched_log())
        db.session.commit()
        return render_template("certificates/verify_failed.html"), 404
    today = today_local()
    view = services.public_view(db.session, cert, today)
    form = HolderCheckForm()
    holder_result = None
    if request.method == "POST":
        holder_result = _holder_check(cert, form)
        if holder_result is not None:
            form = HolderCheckForm(formdata=None)  # never echo the typed ID number back
    else:
        services.log_verification(db.session, cert, "page", view["status"], batched=batched_log())
    db.session.commit()
    return render_template("certificates/verify.html", cert=cert, view=view, form=form, holder_result=holder_result,
                           api_url=url_for("api.public_verify", cid=cert.cid))


@holder_rate
@holder_rate_per_certificate
def _holder_check(cert: Certificate, form: HolderCheckForm) -> bool | None:
    if not form.validate_on_submit():
        return None
    return services.holder_check(db.session, cert, form.id_number.data)


@bp.route("/.well-known/cqo-certificate-keys.json")
def public_keys():
    resp = jsonify(keys.public_document(current_app.config["CERT_KEY_DIR"]))
    resp.headers["Cache-Control"] = "public, max-age=3600"
    resp.headers["Access-Control-Allow-Origin"] = "*"
    return resp


@bp.route("/certificates/static/<path:filename>")
def public_static(filename: str):
    return send_from_directory(STATIC_DIR, filename, max_age=3600)


# ------------------------------------------------------------------ operator commands
@bp.cli.command("rotate")
def rotate_keys():
    """Start a new certificate signing key; earlier keys keep verifying what they signed."""
    kid = keys.create_key(current_app.config["CERT_KEY_DIR"], today_local())
    click.echo(f"new active certificate signing key: {kid}")


@bp.cli.command("list")
def list_keys():
    """List the certificate signing keys and their windows."""
    active = keys.active_kid(current_app.config["CERT_KEY_DIR"])
    for k in keys.list_keys(current_app.config["CERT_KEY_DIR"]):
        click.echo(f"{k.kid}  {k.valid_from} → {k.valid_until or '…'}{'  (active)' if k.kid == active else ''}")


from certificates import api  # noqa: E402,F401  (registers the API routes on lms.api.api_bp)
