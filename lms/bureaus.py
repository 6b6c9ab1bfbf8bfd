"""Bureaus (市场监督管理局) of the regions below a province, created in the web UI at ``/admin/bureaus``.

``flask setup`` loads the regions and creates each province's bureau; the system administrator, or a regulator
admin for the regions below their own, adds the city and county bureaus here as they come on board. A region
withdrawn from GB/T 2260 (``Region.withdrawn_on``) is listed as such and gets no new bureau.
"""
from __future__ import annotations

from flask import Blueprint, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import SelectField, StringField

from lms import audit
from lms.auth.models import User
from lms.auth.views import roles_required
from lms.db import db
from lms.domain import Role
from lms.errors import Forbidden, ValidationFailed
from lms.firstrun import BUREAU_SUFFIX
from lms.forms import choices, length, optional, required, submit
from lms.orgs.models import Region, Regulator
from lms.templating import add_nav

ADMINS = (Role.system_admin, Role.regulator_admin)


def regions_in_scope(session: Session, user: User) -> list[Region]:
    stmt = select(Region).where(Region.withdrawn_on.is_(None)).order_by(Region.path)
    if user.role != Role.system_admin:
        stmt = stmt.where(Region.path.startswith(user.region.path))
    return list(session.scalars(stmt))


def create_bureau(session: Session, actor: User, region_id: int, name: str) -> Regulator:
    region = session.get(Region, region_id)
    if region is None or region.withdrawn_on is not None:
        raise ValidationFailed({"region_id": _("请选择地区")})
    if actor.role != Role.system_admin and (actor.region is None or not actor.region.contains(region)):
        raise Forbidden(_("只能管理本地区及下级地区的记录"))
    if session.scalar(select(Regulator.id).where(Regulator.region_id == region.id)) is not None:
        raise ValidationFailed({"region_id": _("该地区已有监管部门")})
    bureau = Regulator(region_id=region.id, name=(name or "").strip() or region.name + BUREAU_SUFFIX)
    session.add(bureau)
    session.flush()
    audit.record(session, actor, "bureau.create", bureau, region=region.code)
    return bureau


class BureauForm(FlaskForm):
    region_id = SelectField(_l("地区"), coerce=int, validators=[required()])
    name = StringField(_l("监管部门名称"), validators=[optional(), length(128)])


bp = Blueprint("bureaus", __name__, url_prefix="/admin/bureaus")


@add_nav
def _nav(user):
    return [("bureaus.index", _("监管部门"))] if user.role in ADMINS else []


@bp.route("/", methods=["GET", "POST"])
@roles_required(*ADMINS)
def index():
    regions = regions_in_scope(db.session, current_user)
    bureaus = {b.region_id: b for b in db.session.scalars(select(Regulator).where(
        Regulator.region_id.in_([r.id for r in regions])))}
    form = BureauForm()
    form.region_id.choices = choices([(0, _("请选择"))] + [(r.id, f"{r.code} {r.name}") for r in regions
                                                             if r.id not in bureaus])
    if form.validate_on_submit():
        done = submit(form, lambda: create_bureau(db.session, current_user, form.region_id.data, form.name.data),
                      success=_("已添加"), redirect_to=url_for("bureaus.index"))
        if done is not None:
            return done
    rows = [(r, bureaus.get(r.id)) for r in regions if r.id in bureaus]
    return render_template("bureaus/index.html", form=form, rows=rows)


def init_app(app) -> None:
    app.register_blueprint(bp)
