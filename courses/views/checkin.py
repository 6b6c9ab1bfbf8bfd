"""Check-in pages: the projector with the rotating QR code and the live list, and the trainee's phone."""
from __future__ import annotations

import io
import secrets

import qrcode
import qrcode.image.svg
from flask import current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy.orm import joinedload

from courses import checkin, queries, services
from courses.attendance import rates_of
from courses.forms import ConfirmForm
from courses.models import ClassSession
from courses.views import STAFF, VIEWERS, bp
from lms.auth.views import client_address, roles_required
from lms.db import db, reads_first, utcnow, write_phase
from lms.domain import Role
from lms.errors import DomainError, NotFound
from lms.scoping import get_visible
from lms.templating import local_dt

TICKET_MAX_AGE = 300  # seconds between a valid scan and the tap on 确认签到 (time to log in)
DEVICE_COOKIE = "cqo_device"


def qr_key() -> bytes:
    """The key of the QR tokens, derived from SECRET_KEY for this purpose only."""
    return checkin.derive_key(current_app.config["SECRET_KEY"], "attendance-qr")


def _tickets() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt="courses.checkin-ticket")


def checkin_url(session_id: int, token: str) -> str:
    """The URL inside the QR code, on the host the projector page was opened from (the one phones reach)."""
    return url_for("courses.public_checkin", session_id=session_id, t=token, _external=True)


def _owner_session(session_id: int) -> ClassSession:
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    if not services.is_class_staff(current_user, cs.training_class):
        raise NotFound(_("记录不存在或无权查看"))
    return cs


@bp.route("/sessions/<int:session_id>/projector")
@roles_required(*STAFF)
def projector(session_id: int):
    """The page the class's projector shows: the rotating QR code and the live list."""
    cs = _owner_session(session_id)
    return render_template("courses/projector.html", cs=cs, open=checkin.checkin_window_open(cs, utcnow()),
                           step=checkin.STEP_SECONDS)
@bp.route("/sessions/<int:session_id>/qr.svg")
@roles_required(*STAFF)
def projector_qr(session_id: int):
    """The current QR code as SVG; the projector page reloads it every few seconds."""
    cs = _owner_session(session_id)
    now = utcnow()
    checkin.require_window(cs, now)
    url = checkin_url(cs.id, checkin.make_token(qr_key(), cs.id, now))
    img = qrcode.make(url, image_factory=qrcode.image.svg.SvgPathImage, box_size=20, border=2)
    buf = io.BytesIO()
    img.save(buf)
    resp = make_response(buf.getvalue())
    resp.headers["Content-Type"] = "image/svg+xml"
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["X-Checkin-Url"] = url
    return resp


@bp.route("/sessions/<int:session_id>/live.json")
@roles_required(*VIEWERS)
def live(session_id: int):
    """The projector's live list: who has checked in, newest first, with flags."""
    cs = get_visible(db.session, ClassSession, session_id, current_user)
    rows = queries.live_list(db.session, cs)
    roster = len(queries.roster(db.session, cs))
    attended = sum(1 for r in rows if r.record.status.counts_as_attended)
    return jsonify({
        "session_id": cs.id, "roster": roster, "attended": attended,
        "items": [{"name": r.name, "status": r.record.status.value, "status_label": r.record.status.label,
                   "method": r.record.method, "at": local_dt(r.record.recorded_at, "%H:%M:%S"),
                   "device_flag": r.device_flag, "address_flag": r.address_flag} for r in rows],
    })


# ------------------------------------------------------------------ the trainee's phone
def _render_checkin(cs, *, error=None, form=None, record=None, status=200, rate=None):
    return render_template("courses/checkin.html", cs=cs, error=error, form=form, record=record, rate=rate), status


@bp.route("/checkin/<int:session_id>", methods=["GET", "POST"])
def public_checkin(session_id: int):
    """GET with ``t`` (the QR token): verify it, then ask to log in or to confirm. The confirm form carries a
    signed ticket good for five minutes, so logging in first doesn't make the 15-second code expire.

    Hundreds of trainees confirm within seconds, so the POST keeps the write short: everything it reads (the
    session user, the class session, the enrolment and any record, in one statement each) is read in a
    deferred transaction, only the insert (and its audit event) runs in the write transaction — on SQLite the
    one write lock (see ``lms.db.write_phase``) — and the page's attendance rates are read after the commit."""
    with reads_first(db.session):
        return _public_checkin(session_id)


def _public_checkin(session_id: int):
    cs = db.session.get(ClassSession, session_id, options=[joinedload(ClassSession.training_class)])
    if cs is None:
        raise NotFound(_("课次不存在"))
    now = utcnow()
    ticket = request.values.get("ticket", "")
    if request.method == "GET" and "t" in request.args:
        try:
            checkin.verify_token(qr_key(), request.args["t"], cs.id, now)
        except checkin.InvalidToken as exc:
            return _render_checkin(None, error=exc.message, status=400)  # reveal nothing about the session
        ticket = _tickets().dumps({"s": cs.id})
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=url_for("courses.public_checkin", session_id=cs.id, ticket=ticket)))
    try:
        data = _tickets().loads(ticket, max_age=TICKET_MAX_AGE)
        if data.get("s") != cs.id:
            raise BadSignature("other session")
    except SignatureExpired:
        return _render_checkin(None, error=_("签到确认已超时：请重新扫描投影屏幕上的二维码"), status=400)
    except BadSignature:
        return _render_checkin(None, error=_("请用手机扫描投影屏幕上的签到二维码"), status=400)
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=url_for("courses.public_checkin", session_id=cs.id, ticket=ticket)))
    if current_user.role != Role.trainee:
        return _render_checkin(cs, error=_("只有学员需要签到；请用学员账号登录"), status=403)
    if request.method == "POST":
        # The CSRF token was checked before the view (CSRFProtect, on every form POST); the ticket above.
        return _confirm(cs, now)
    found = checkin.admission(db.session, cs, current_user.id)
    if found is None:
        return _render_checkin(cs, error=_("您不是本培训班的已录取学员，不能签到"), status=403)
    if found.record is not None:
        return _render_checkin(cs, record=found.record, rate=rates_of(db.session, found.enrollment_id, cs.class_id, now))
    if not checkin.checkin_window_open(cs, now):
        return _render_checkin(cs, error=_("不在签到时间内：本课次签到时间为开始前 1 小时至结束后 30 分钟"), status=400)
    return _render_checkin(cs, form=ConfirmForm(ticket=ticket))


def _confirm(cs: ClassSession, now):
    device = request.cookies.get(DEVICE_COOKIE) or secrets.token_urlsafe(24)
    key = checkin.derive_key(current_app.config["SECRET_KEY"], "attendance-fingerprint")
    try:
        found = checkin.prepare_check_in(db.session, current_user, cs, now)
        # The insert (none when already recorded) and any pending change (the login's last_seen_at), retried on a
        # conflict: the insert is its own guard (ON CONFLICT DO NOTHING), so running it again is safe.
        record, _created = write_phase(db.session, lambda: checkin.record_check_in(
            db.session, current_user, cs, found, now, device_hash=checkin.fingerprint(key, device),
            address_hash=checkin.fingerprint(key, client_address())))
    except DomainError as exc:
        db.session.rollback()
        return _render_checkin(cs, error=exc.message, status=exc.status)
    rate = rates_of(db.session, found.enrollment_id, cs.class_id, now)
    resp = make_response(_render_checkin(cs, record=record, rate=rate)[0])
    resp.set_cookie(DEVICE_COOKIE, device, max_age=5 * 365 * 86400, httponly=True, samesite="Lax",
                    secure=current_app.config["SESSION_COOKIE_SECURE"])
    return resp
