"""How certificates plug into the platform, called once per app by ``lms.features.init_app``: the blueprint and
its API routes, the ``cert-keys`` commands, navigation, the home panel, the demo seed hook and the enrolment
checks courses asks of certificates. Certificates connect no signal receivers: the features after them
(credits, talent) connect to ``certificates.signals`` in their own wiring."""
from __future__ import annotations

from flask import Flask, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import Session

from certificates import api  # noqa: F401  (declares the API routes on lms.api's blueprint)
from certificates import demo, fastpath, integration, keys, queries, services
from certificates.cli import cert_keys
from certificates.models import Certificate
from certificates.views import STAFF, bp
from lms.core_views import add_home_panel
from lms.demo import add_seed_hook
from lms.domain import Role
from lms.settingbasis import register_setting
from lms.templating import add_nav, today_local


def nav(user) -> list[tuple[str, str]]:
    """The certificate entries of the menu: trainees see their own, staff issue and list, provinces set rules."""
    if user.role == Role.trainee:
        return [("certificates.index", _("我的证书")), ("certificates.my_photo", _("证书照片"))]
    items = []
    if user.role in STAFF:
        items = [("certificates.classes", _("发证")), ("certificates.index", _("证书"))]
    if user.role == Role.regulator_admin and user.region is not None and user.region.parent_id is None:
        items.append(("certificates.settings", _("证书规则")))
    if user.role == Role.system_admin:
        items.append(("certificates.partners", _("互认省份")))
    return items


def home_panel(session: Session, user) -> list[dict]:
    """The home page's certificate panel: a trainee's latest five, or how many the staff may see."""
    if user.role == Role.trainee:
        certs = session.scalars(queries.certificates(user).order_by(Certificate.issued_on.desc()).limit(5)).all()
        today = today_local()
        return [{"title": _("我的证书"), "url": url_for("certificates.index"),
                 "items": [f"{c.number} · {c.tier.label} · {services.effective_status(c, today).label}" for c in certs]
                 or [_("暂无证书")]}]
    if user.role in STAFF:
        n = queries.count_certificates(session, user)
        return [{"title": _("证书"), "url": url_for("certificates.index"), "items": [_("可查看的证书 %(n)d 张", n=n)]}]
    return []


def init_app(app: Flask) -> None:
    """Register everything certificates add to the app (the registries keep one entry per process)."""
    app.register_blueprint(bp)
    app.cli.add_command(cert_keys)
    add_nav(nav)
    add_home_panel(home_panel)
    add_seed_hook(demo.seed)
    integration.register()
    keys.configure(trust_demo_keys=app.config["LMS_ENV"] != "production")  # demo keys never verify in production
    fastpath.init_app(app)  # the verification GETs answered in front of Flask when they can be (issue 20)
    # No seed asks for the holder's photo on a certificate (issue 16): the province's own choice (本省自定).
    register_setting("certificate_settings", "holder_photo", _l("证书印持证人照片"),
                     show=lambda v: _("是") if v else _("否"))
