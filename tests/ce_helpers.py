"""Helpers of the continuing-education and pool tests (issue 14, part A): a certified CQO with an accepted
appointment in force from a day, written as the bureau's acceptance leaves it (the registration's own rules are
tested with the appointments)."""
from __future__ import annotations

import datetime as dt

from credits import services as credits
from talent.models import Appointment, RegistrationStatus
from talent.services import entries


def certify(db, world, user=None, cert_id=800001, tier="basic", issued=dt.date(2026, 3, 1), enterprise=None,
            region=None):
    """``user`` (王芳 by default) certified on ``issued`` (a class of Qidong's unless ``region``), working at
    ``enterprise`` (启东机械 by default)."""
    user = user or world.trainee
    return entries.on_certificate_issued(
        db, user_id=user.id, certificate_id=cert_id, number=f"JS-B-{issued.year}-{cert_id}", tier=tier,
        issued_on=issued, valid_until=issued.replace(year=issued.year + 3), region_id=(region or world.qidong).id,
        enterprise_id=(enterprise or world.ent_qd).id)


def appoint(db, world, user=None, on=dt.date(2025, 4, 1), ended=None, enterprise=None) -> Appointment:
    """An accepted appointment of ``user`` by ``enterprise`` in force from ``on`` (until ``ended``)."""
    user = user or world.trainee
    appt = Appointment(user_id=user.id, enterprise_id=(enterprise or world.ent_qd).id, kind="initial", appointed_on=on,
                       ended_on=ended, enterprise_head="张总", enterprise_head_phone="0513-80000000", cv="质量管理十年。",
                       opinion="我单位任命该同志为企业首席质量官。", opinion_date=on, letter_path="x.pdf", letter_name="任命书.pdf",
                       letter_mime="application/pdf", status=RegistrationStatus.accepted, submitted_on=on)
    db.add(appt)
    db.flush()
    return appt


def give(db, user, year, professional, public, tag=""):
    """Credit ``user`` with professional and public hours for ``year``."""
    if professional:
        credits.award_system_credit(db, user_id=user.id, year=year, hours=professional, subject_category="professional",
                                    source_ref=f"test:{user.id}:{year}:p{tag}", title="质量管理体系")
    if public:
        credits.award_system_credit(db, user_id=user.id, year=year, hours=public, subject_category="public",
                                    source_ref=f"test:{user.id}:{year}:g{tag}", title="公需科目")


def report(db, user, year, today=None):
    """``user`` files the performance report of ``year``."""
    return credits.file_report(db, user, year=year, summary="本年度组织质量改进项目三项，完成质量管理体系内审与管理评审。",
                               today=today or dt.date(year, 12, 1))


def both_rule(db, world, **kw):
    """Jiangsu requires hours AND the report (a province's own rule, not seed 002's)."""
    args = dict(required_hours=90, professional_min_hours=60, report_required=True, report_due_month=12,
                change_registration_days=30, ce_either=False)
    args.update(kw)
    return credits.save_rule(db, world.province_admin, world.jiangsu.id, **args)
