"""How credits plugs into the platform: called once per app by ``lms.features.init_app``. Registers the
blueprint, the API routes (importing ``credits.api`` declares them), the menu entries, the trainee's home
panel, and the receivers of the certificates' signals (a certificate's class hours become credits)."""
from __future__ import annotations

from flask import Flask
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from certificates.models import Certificate
from certificates.signals import certificate_issued, certificate_reissued, certificates_issued
from courses.settings_transfer import register_section
from credits import api, services, settings_section, views  # noqa: F401  (api: importing it declares the API routes)
from lms.core_views import add_home_panel
from lms.settingbasis import register_setting
from lms.templating import add_nav


def _award_hours(sender, *, session, certificate: Certificate, **_kw) -> None:
    """certificate-issued (and -reissued): the class hours count as the year's credits. Idempotent per
    enrolment, so a reissue (same enrolment, whichever of its two certificates the signal names) adds nothing."""
    services.award_certificate_hours(session, certificate)


def _award_hours_many(sender, *, session, certificates: list[Certificate], **_kw) -> None:
    """certificates-issued (a batch of the bulk issue): the certificates' class hours, one insert a batch."""
    services.award_certificate_hours_many(session, certificates)


def init_app(app: Flask) -> None:
    """Register everything credits adds to the platform (the registries are idempotent)."""
    app.register_blueprint(views.bp)
    add_nav(views.nav)
    add_home_panel(views.home_panel)
    certificate_issued.connect(_award_hours, weak=False)
    certificates_issued.connect(_award_hours_many, weak=False)
    certificate_reissued.connect(_award_hours, weak=False)
    # No seed sets CE hours (seed 002 §4(3) asks for a report OR CE proof): a province's hours are its own
    # choice (本省自定) or an example (示例), and say so wherever they are shown.
    register_section(settings_section.SECTION)  # the CE rule travels in the province settings file (issue 15)
    register_setting("province_rules", "required_hours", _l("年度继续教育学时"))
    register_setting("province_rules", "professional_min_hours", _l("其中专业科目学时"))
    # The report month and the change-registration period are saved with the rule under the one basis its form
    # asks for (the hours'): they are no seed's either (issue 15: "report month 12" shown with no source).
    register_setting("province_rules", "report_due_month", _l("履职报告截止月份"),
                     show=lambda v: _("%(m)d 月底前", m=v), origin=lambda r: (r, "required_hours"))
    register_setting("province_rules", "change_registration_days", _l("变更登记期限"),
                     show=lambda v: _("%(n)d 天", n=v), origin=lambda r: (r, "required_hours"))
