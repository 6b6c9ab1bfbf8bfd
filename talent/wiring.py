"""How talent plugs into the platform: called once per app by ``lms.features.init_app``. Registers the
blueprint, the API routes (importing ``talent.api`` declares them), the menu entries, the home panel, the demo
seed hook, the pool entry's province as the one credits judges a member by, and the receivers of the
certificates' and credits' signals. The scheduled jobs are in ``talent/jobs.py`` (``lms.features.import_jobs``)."""
from __future__ import annotations

import datetime as dt

from flask import Flask
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.orm import Session

from certificates.models import Certificate
from certificates.services.verification import add_standing_join, add_standing_source
from certificates.signals import (certificate_expired, certificate_issued, certificate_reinstated, certificate_reissued,
                                  certificate_revoked, certificate_suspended, certificates_issued)
from credits import queries as credit_queries
from credits.signals import annual_report_filed, credits_changed, credits_changed_many
from lms.core_views import add_home_panel
from lms.demo import add_seed_hook
from lms.settingbasis import register_setting
from lms.templating import add_nav
from talent import api, demo, eval_api, eval_views, notice_api, views  # noqa: F401  (api, eval_api, notice_api: importing them declares the API routes; eval_views: routes on views.bp)
from talent.cli import talent_standings
from talent.models import TalentEntry
from talent.services import entries, sanctions, standing
from talent.services import settings_section as eval_settings_section


def _entry_province(session: Session, user_id: int) -> int | None:
    """A pool member's province is the entry's: the roll-up judges their credits by its rule."""
    return session.scalar(select(TalentEntry.province_id).where(TalentEntry.user_id == user_id))


def _entered(sender, *, session: Session, certificate: Certificate, **_kw) -> None:
    """certificate-issued: the holder enters the pool (or the entry records the certificate)."""
    entries.enter_pool(session, certificate)


def _entered_many(sender, *, session: Session, certificates: list[Certificate], **_kw) -> None:
    """certificates-issued (a batch of the bulk issue): the holders enter the pool, one insert per table."""
    entries.enter_pool_many(session, certificates)


def _changed(sender, *, session: Session, certificate: Certificate, reason: str = "", today: dt.date | None = None,
             **_kw) -> None:
    """certificate-revoked / -suspended / -reinstated / -expired: the pool follows the certificate's status (the entry may exit)."""
    entries.certificate_changed(session, certificate, reason or "", today)


def _reissued(sender, *, session: Session, certificate: Certificate, reason: str = "", today: dt.date | None = None,
              **_kw) -> None:
    """certificate-reissued: the new certificate counts, the superseded one no longer does."""
    entries.certificate_reissued(session, certificate, reason or "", today)


def _credits_changed(sender, *, session: Session, user_id: int, year: int, **_kw) -> None:
    """credits-changed / annual-report-filed: an entry on warning for CE becomes active once the year is met."""
    standing.restore_if_compliant(session, user_id, year)


def _credits_changed_many(sender, *, session: Session, user_ids: list[int], year: int, **_kw) -> None:
    """credits-changed-many: as credits-changed, for a batch of people at once."""
    standing.restore_if_compliant_many(session, user_ids, year)


def init_app(app: Flask) -> None:
    """Register everything talent adds to the platform (the registries are idempotent)."""
    app.register_blueprint(views.bp)
    add_nav(views.nav)
    add_home_panel(views.home_panel)
    add_seed_hook(demo.seed)
    credit_queries.add_province_source(_entry_province)
    certificate_issued.connect(_entered, weak=False)
    certificates_issued.connect(_entered_many, weak=False)
    certificate_revoked.connect(_changed, weak=False)
    certificate_suspended.connect(_changed, weak=False)
    certificate_reinstated.connect(_changed, weak=False)
    certificate_expired.connect(_changed, weak=False)
    certificate_reissued.connect(_reissued, weak=False)
    credits_changed.connect(_credits_changed, weak=False)
    credits_changed_many.connect(_credits_changed_many, weak=False)
    annual_report_filed.connect(_credits_changed, weak=False)
    add_standing_source(sanctions.public_standing)
    add_standing_join(sanctions.PUBLIC_STANDING_JOIN)
    app.cli.add_command(talent_standings)
    # evaluation as data (issue 15): the tree's names and weights, the bands and the flow's settings carry a basis
    register_setting("eval_indicators", "indicator_name", _l("指标名称"))
    register_setting("eval_indicators", "indicator_weight", _l("权重"))
    register_setting("eval_grade_bands", "band_stars", _l("星级分档"))
    register_setting("eval_settings", "outlier_threshold", _l("专家评分离群阈值（分）"))
    register_setting("eval_settings", "nomination_min_stars", _l("评选提名所需星级"))
    eval_settings_section.register()
    app.jinja_env.globals["eval_standard"] = eval_views.bands_context
