"""How reports plugs into the platform: called once per app by ``lms.features.init_app``. Everything the
feature adds is registered here (the registries are idempotent): the blueprint and its page modules, the API
routes, the menu and home panels, the filing gate and the enrollable condition in ``courses.gates`` (with the
recorder for classes filed outside the review), and the demo seed hook."""
from __future__ import annotations

from flask import Flask
from flask_babel import lazy_gettext as _l

from courses import gates
from lms.core_views import add_home_panel
from lms.demo import add_seed_hook
from lms.domain import Tier
from lms.settingbasis import register_setting
from lms.templating import add_nav
from reports import api, demo  # noqa: F401  (api: importing it declares the API routes)
from reports.services import filing
from reports.views import annual, bp, filings, home, regulator, results  # noqa: F401  (the page modules add their routes to bp)


def init_app(app: Flask) -> None:
    """Register the blueprint, navigation, home panels, class gates, the filing recorder and the demo data."""
    app.register_blueprint(bp)
    # A filing's snapshot keeps the tier's code and its label as filed; pages show the code in today's language.
    app.jinja_env.globals["tier_label"] = lambda code: Tier(code).label
    add_nav(home.nav)
    add_home_panel(home.home_panels)
    gates.register_class_gate("filing")(filing.filing_gate)
    gates.register_enrollable_condition(filing.accepted_filing_condition)
    gates.register_filing_recorder(filing.record_accepted_filing)
    add_seed_hook(demo.seed)
    register_setting("reporting_settings", "key_industries", _l("重点行业"), show=lambda v: "、".join(v))
    register_setting("reporting_settings", "annual_report_due", _l("机构年度报告截止日（次年月-日）"))
