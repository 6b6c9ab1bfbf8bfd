"""What bureaus set: a province's reporting rules (hold certificates until the results report, key industries,
the annual report's due day) and a region's yearly appointment-rate (聘任率) targets."""
from __future__ import annotations

import datetime as dt

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import audit
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Forbidden, ValidationFailed
from reports.models import AppointmentTarget, ReportingSettings, TargetCategory


def save_settings(session: Session, actor: User, *, hold_certificates: bool, key_industries: list[str],
                  annual_report_due: str, key_industries_basis: str | None = None) -> ReportingSettings:
    """A province bureau sets its province's reporting rules. The key industries (the 中小微 appointment-rate
    category, seed 002 §1) carry their basis: the document that lists them, or 本省自定."""
    if actor.role != Role.regulator_admin or actor.region is None or actor.region.parent_id is not None:
        raise Forbidden(_("只有省级监管部门可以设置本省的报备规则"))
    try:
        month, day = (int(x) for x in (annual_report_due or "").split("-"))
        dt.date(2025, month, day)
    except ValueError:
        raise ValidationFailed({"annual_report_due": _("请按“月-日”填写，如 01-31")})
    industries = sorted({i.strip() for i in key_industries if i.strip()})
    if any(len(i) > 64 for i in industries):
        raise ValidationFailed({"key_industries": _("行业名称不能超过 64 字")})
    basis = (key_industries_basis or "").strip()
    if industries and not basis:
        raise ValidationFailed({"key_industries_basis": _("请写明重点行业的依据（文件名称与条款，或“本省自定”）")})
    if len(basis) > 500:
        raise ValidationFailed({"key_industries_basis": _("依据不能超过 500 字")})
    row = session.scalar(select(ReportingSettings).where(ReportingSettings.province_id == actor.region.id))
    if row is None:
        row = ReportingSettings(province_id=actor.region.id)
        session.add(row)
    row.hold_certificates_until_report = bool(hold_certificates)
    row.key_industries = industries
    row.key_industries_basis = basis
    row.annual_report_due = f"{month:02d}-{day:02d}"
    session.flush()
    audit.record(session, actor, "reporting_settings.save", row, hold=row.hold_certificates_until_report,
                 industries=len(industries))
    return row


def set_target(session: Session, actor: User, year: int, category: str, rate_percent: float,
               basis: str | None = None) -> AppointmentTarget:
    """A bureau sets its region's appointment-rate target for a year (as a percentage) and writes where it comes
    from (e.g. 「崇质强办文〔2022〕3号 一、工作目标」, or 本地自定), shown beside the target on the dashboard."""
    if actor.role != Role.regulator_admin or actor.region is None:
        raise Forbidden(_("只有监管部门可以设置目标"))
    errors = {}
    try:
        cat = TargetCategory(category)
    except ValueError:
        errors["category"] = _("请选择企业类别")
    if not 2000 <= (year or 0) <= 2100:
        errors["year"] = _("年份无效")
    if rate_percent is None or not 0 <= rate_percent <= 100:
        errors["rate"] = _("目标须在 0 到 100 之间")
    basis = (basis or "").strip()
    if not basis:
        errors["basis"] = _("请写明目标的依据（文件名称与条款，或“本地自定”）")
    elif len(basis) > 500:
        errors["basis"] = _("依据不能超过 500 字")
    if errors:
        raise ValidationFailed(errors)
    row = session.scalar(select(AppointmentTarget).where(AppointmentTarget.region_id == actor.region_id,
                                                         AppointmentTarget.year == year, AppointmentTarget.category == cat))
    if row is None:
        row = AppointmentTarget(region_id=actor.region_id, year=year, category=cat)
        session.add(row)
    row.rate, row.basis, row.set_by_id = round(float(rate_percent) / 100, 4), basis, actor.id
    session.flush()
    audit.record(session, actor, "appointment_target.set", row, year=year, category=cat.value, rate=row.rate)
    return row
