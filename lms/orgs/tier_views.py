"""The page where a province sets how it organises its tiers (issue 15): which level of bureau runs, files and
certifies each tier and which tier must be held first, with the basis of the set-up. Routes on the orgs
blueprint; the rules are in lms.orgs.tiers."""
from __future__ import annotations

from flask import render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from lms.auth.views import roles_required
from lms.db import db
from lms.domain import RegionLevel, Role, Tier
from lms.forms import choices, length, optional, submit
from lms.orgs import tiers
from lms.orgs.models import Region, TierOrganisation
from lms.orgs.services import province_of
from lms.orgs.views import ADMINS, bp
from lms.scoping import visible
from lms.settingbasis import BasisKind, basis_of, register_setting


class TierPlanForm(FlaskForm):
    """The basis of the set-up; the tiers' levels and prerequisites come as ``<tier>-level`` and
    ``<tier>-prerequisite`` fields, checked by lms.orgs.tiers.save_plan."""

    basis_kind = SelectField(_l("以上设置的依据"), choices=lambda: choices(BasisKind.choices()), default="example",
                             validators=[optional()])
    basis_source = StringField(_l("依据文件及条款"), validators=[optional(), length(300)])


def register_settings() -> None:
    """A tier's bureau level is a province setting, shown with its basis (lms.settingbasis)."""
    register_setting("tier_organisations", "bureau_level", _l("负责的监管部门层级"), show=lambda v: RegionLevel(v).label)


def _province() -> Region | None:
    """The province the page is about: the admin's own, or the one a system admin picks."""
    if current_user.role == Role.system_admin:
        rows = db.session.scalars(visible(Region, current_user).where(Region.level == RegionLevel.province).order_by(Region.code))
        rows = list(rows)
        wanted = request.args.get("province", type=int)
        return next((r for r in rows if r.id == wanted), rows[0] if rows else None)
    return province_of(db.session, current_user.region) if current_user.region else None


@bp.route("/tiers", methods=["GET", "POST"])
@roles_required(*ADMINS)
def tiers_page():
    """How the province organises its tiers; its province-level admin edits it."""
    province = _province()
    plan = tiers.plan(db.session, province.id) if province else []
    form = TierPlanForm()
    if request.method == "GET" and plan and plan[0].row is not None:
        basis = basis_of(db.session, plan[0].row, "bureau_level")
        form.basis_kind.data, form.basis_source.data = basis.kind.value, basis.source
    if province is not None and form.validate_on_submit():
        raw = {t.value: (request.form.get(f"{t.value}-level", ""), request.form.get(f"{t.value}-prerequisite", "")) for t in Tier}
        done = submit(form, lambda: tiers.save_plan(db.session, current_user, province, raw,
                                                    (form.basis_kind.data or "example", form.basis_source.data or "")),
                      success=_("培训层级设置已保存"), redirect_to=url_for("orgs.tiers_page", province=province.id))
        if done:
            return done
    shown = [(p, p.row or TierOrganisation(province_id=province.id, tier=p.tier, bureau_level=p.bureau_level)) for p in plan]
    return render_template("orgs/tiers.html", province=province, plan=shown, form=form, Tier=Tier, RegionLevel=RegionLevel,
                           can_edit=province is not None and tiers.may_edit(current_user, province),
                           posted=request.form if request.method == "POST" else None)
