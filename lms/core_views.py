"""Home pages per role, health check and language switch."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify, make_response, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import func, select

from lms import lean
from lms.db import db
from lms.domain import Role
from lms.orgs.models import Enterprise, Institution
from lms.people.models import TraineeProfile
from lms.scoping import visible
from lms.redirects import safe_referrer, safe_target
from lms.templating import today_local

bp = Blueprint("core", __name__)

_home_panels: list = []


def add_home_panel(fn):
    """Features add panels to role home pages: ``fn(session, user) -> list[dict(title, items, url)]``."""
    if fn not in _home_panels:  # a feature's init_app runs once per app; register once per process
        _home_panels.append(fn)
    return fn


@bp.route("/")
def index():
    """The public landing page; a signed-in user goes to their home page."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    return render_template("index.html")


@bp.route("/home")
@login_required
def home():
    """The role's home page: the panels the platform and the features add (``add_home_panel``)."""
    panels = []
    for fn in _home_panels:
        panels.extend(fn(db.session, current_user))
    return render_template("home.html", panels=panels, Role=Role)


@bp.route("/healthz")
def healthz():
    """Liveness for the load balancer: is the database reachable?"""
    # No ORM session, and at most one ping a second per process (HEALTHZ_DB_CHECK_SECONDS; issue 20)
    app = current_app._get_current_object()  # noqa: SLF001 (one proxy look-up, not three)
    if not lean.database_check(app).reachable():
        return jsonify({"status": "error", "database": "unreachable"}), 503
    body = app.extensions.get("lms_healthz_ok")
    if body is None:  # jsonify's bytes, once (issue 20: jsonify was ~12 % of the request)
        body = app.extensions["lms_healthz_ok"] = jsonify({"status": "ok"}).get_data()
    return app.response_class(body, mimetype="application/json")


@bp.route("/lang/<code>", methods=["POST"])
def set_language(code: str):
    """Switch the interface language (a cookie) and go back to the page, never to another site."""
    target = safe_target(request.form.get("next")) or safe_referrer() or url_for("core.index")
    resp = make_response(redirect(target))
    resp.set_cookie("lang", "en" if code == "en" else "zh", max_age=365 * 86400, samesite="Lax", httponly=True)
    return resp


def platform_panels(session, user) -> list[dict]:
    """The platform's own home panels: the region's figures, the institution's authorisations, the trainee's
    profile (added by the factory)."""

    def count(model) -> int:
        return session.scalar(select(func.count()).select_from(visible(model, user).subquery())) or 0

    if user.role in (Role.regulator_admin, Role.system_admin):
        return [{
            "title": _("本地区概况"),
            "items": [
                _("培训机构 %(n)d 家", n=count(Institution)),
                _("企业 %(n)d 家", n=count(Enterprise)),
                _("学员 %(n)d 人", n=count(TraineeProfile)),
            ],
            "url": url_for("orgs.institutions"),
        }]
    if user.role == Role.institution_staff and user.institution:
        tiers = user.institution.tiers_in_force(today_local())
        return [{
            "title": _("本机构培训授权"),
            "items": [t.label for t in tiers] or [_("当前没有有效授权，请联系监管部门")],
            "url": None,
        }]
    if user.role == Role.trainee:
        return [{"title": _("我的资料"), "items": [_("查看和修改实名信息")], "url": url_for("people.me")}]
    return []
