"""The page where a province exports its settings as one JSON file, or imports one (issue 15): the file is
checked field by field, the page shows what applying would change, and the admin applies it."""
from __future__ import annotations

import json

from flask import Response, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from courses import settings_transfer
from courses.forms import SettingsImportForm
from courses.views import ADMINS, bp
from lms.auth.views import roles_required
from lms.bodylimit import FORM_ROOM, body_limit
from lms.db import db
from lms.domain import RegionLevel, Role
from lms.errors import ValidationFailed
from lms.forms import submit
from lms.orgs.models import Region
from lms.orgs.services import province_of
from lms.scoping import visible


def _province() -> Region | None:
    """The admin's province, or the one a system admin picks (?province=<id>)."""
    if current_user.role == Role.system_admin:
        rows = list(db.session.scalars(visible(Region, current_user).where(Region.level == RegionLevel.province).order_by(Region.code)))
        wanted = request.args.get("province", type=int)
        return next((r for r in rows if r.id == wanted), rows[0] if rows else None)
    return province_of(db.session, current_user.region) if current_user.region else None


@bp.route("/settings/export")
@roles_required(*ADMINS)
def settings_export():
    """The province's settings (tiers, eligibility rule sets, each with its basis) as one JSON file."""
    province = _province()
    doc = settings_transfer.export_settings(db.session, province) if province else {}
    body = json.dumps(doc, ensure_ascii=False, indent=2)
    return Response(body, mimetype="application/json",
                    headers={"Content-Disposition": f"attachment; filename=province-settings-{province.code if province else 'none'}.json"})


@bp.route("/settings", methods=["GET", "POST"])
@body_limit(settings_transfer.MAX_BYTES + FORM_ROOM)
@roles_required(*ADMINS)
def province_settings():
    """Import a settings file: checked field by field, its changes shown, applied once the admin confirms."""
    province = _province()
    form = SettingsImportForm()
    found: dict = {}
    if province is not None and form.validate_on_submit():
        data = form.file.data.read() if form.file.data else (form.payload.data or "").encode("utf-8")
        try:
            parsed = settings_transfer.check_settings(settings_transfer.read_file(data))
        except ValidationFailed as exc:
            found["errors"] = exc.errors
        else:
            if request.form.get("confirm") == "1":
                done = submit(form, lambda: settings_transfer.apply_settings(db.session, current_user, province, parsed),
                              success=_("省级设置已导入"), redirect_to=url_for("courses.province_settings"))
                if done:
                    return done
            found = {"changes": settings_transfer.changes(db.session, province, parsed), "payload": data.decode("utf-8-sig")}
    return render_template("courses/province_settings.html", province=province, form=form, found=found)
