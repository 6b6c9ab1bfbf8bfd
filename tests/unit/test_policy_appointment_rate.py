"""Issue 14, point 1: the appointment rate (聘任率) counts enterprises with an accepted appointment in force on the
day, never certificate holders; the 中小微 category of seed 002 is medium, small and micro firms in the province's
key industries; targets carry their basis, and Chongyang's demo targets are seed 002's."""
from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from sqlalchemy import select

from lms.errors import ValidationFailed
from lms.orgs.models import Region
from reports import demo as reports_demo
from reports import queries
from reports.models import AppointmentTarget, ReportingSettings, TargetCategory
from reports.services import rules
from talent.models import RegistrationStatus
from talent.services import appointments, entries
from tests.factories import make_enterprise

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF"
SEED_002 = next(iter(sorted((Path(__file__).resolve().parents[3] / "shared" / "seeds").glob("002_*.txt"))), None)


def _register(db, app, world, appointed_on: dt.date, today: dt.date):
    data = appointments.AppointmentData(
        kind="initial", appointed_on=appointed_on, enterprise_head="张总", enterprise_head_phone="0513-80000000",
        quality_head="", quality_head_phone="", cv="2010 年起从事质量管理工作。", awards="",
        opinion="我单位任命王芳同志为企业首席质量官。", opinion_date=appointed_on)
    return appointments.submit_appointment(db, world.trainee, data, PDF, "任命书.pdf", app.config["UPLOAD_DIR"], today)


def test_policy_rate_counts_appointments_in_force_not_certificates(db, world, app):
    # 王芳 of 启东机械 (above size) holds a certificate in force: that alone appoints nobody.
    entries.on_certificate_issued(db, user_id=world.trainee.id, certificate_id=900001, number="JS-B-2026-900001",
                                  tier="basic", issued_on=dt.date(2026, 3, 1), valid_until=None,
                                  region_id=world.qidong.id, enterprise_id=world.ent_qd.id)
    today = dt.date(2026, 11, 22)
    above = queries.appointment(db, world.nantong, 2026, today)["above_size"]
    assert above["enterprises"] == 1 and above["appointed"] == 0 and above["rate"] == 0.0

    appt = _register(db, app, world, dt.date(2026, 4, 1), dt.date(2026, 4, 10))
    assert queries.appointment(db, world.nantong, 2026, today)["above_size"]["appointed"] == 0  # not yet accepted
    appointments.review_appointment(db, world.county_admin, appt, accept=True, reason="")
    assert appt.status == RegistrationStatus.accepted
    assert queries.appointment(db, world.nantong, 2026, today)["above_size"]["rate"] == 1.0
    assert queries.appointment(db, world.qidong, 2026, today)["above_size"]["appointed"] == 1
    assert queries.appointment(db, world.rugao, 2026, today)["above_size"]["appointed"] == 0
    # Read on a day: before the appointment (last year's figure) it was not in force.
    assert queries.appointment(db, world.nantong, 2025, today)["above_size"]["appointed"] == 0
    # Ended (replaced elsewhere, disqualified …): in force up to the day before its end only.
    appt.ended_on = dt.date(2026, 9, 1)
    db.flush()
    assert queries.appointment(db, world.nantong, 2026, dt.date(2026, 8, 31))["above_size"]["appointed"] == 1
    assert queries.appointment(db, world.nantong, 2026, today)["above_size"]["appointed"] == 0


def test_policy_small_medium_micro_in_key_industries(db, world):
    medium_food = make_enterprise(db, world.rugao, size="medium", above=False, name="如皋乳业有限公司")
    medium_food.industry = "食品"
    large_food = make_enterprise(db, world.rugao, size="large", above=True, name="如皋粮油集团有限公司")
    large_food.industry = "食品"
    world.ent_rg.industry = "食品"  # small
    db.flush()
    today = dt.date(2026, 11, 22)
    # No key industries set: the category is empty, and the page says so.
    assert queries.appointment(db, world.rugao, 2026, today)["small_micro_key"]["enterprises"] == 0
    rules.save_settings(db, world.province_admin, hold_certificates=False, key_industries=["食品"],
                        annual_report_due="01-31", key_industries_basis="本省自定")
    out = queries.appointment(db, world.rugao, 2026, today)
    assert out["small_micro_key"]["enterprises"] == 2  # the medium and the small firm; the large one is not 中小微
    assert out["key_industries"] == ["食品"] and out["key_industries_basis"] == "本省自定"
    assert TargetCategory.small_micro_key.label == "重点行业中小微企业"
    # Key industries with no basis: refused, nothing changed.
    with pytest.raises(ValidationFailed) as e:
        rules.save_settings(db, world.province_admin, hold_certificates=False, key_industries=["食品", "医疗器械"],
                            annual_report_due="01-31", key_industries_basis=" ")
    assert "key_industries_basis" in e.value.errors
    assert queries.settings_for(db, world.rugao).key_industries == ["食品"]


def test_policy_targets_carry_their_basis_and_are_inherited(db, world):
    with pytest.raises(ValidationFailed) as e:
        rules.set_target(db, world.city_admin, 2026, "above_size", 80, basis="")
    assert "basis" in e.value.errors
    assert db.scalar(select(AppointmentTarget.id)) is None
    rules.set_target(db, world.city_admin, 2026, "above_size", 80, basis="示例")
    qd = queries.appointment(db, world.qidong, 2026, dt.date(2026, 11, 22))["above_size"]
    assert qd["target"] == 0.8 and qd["target_basis"] == "示例" and qd["target_region"] == "南通市"
    rules.set_target(db, world.county_admin, 2026, "above_size", 60, basis="启东市本地自定")
    qd = queries.appointment(db, world.qidong, 2026, dt.date(2026, 11, 22))["above_size"]
    assert qd["target"] == 0.6 and qd["target_region"] == "启东市"


def test_policy_chongyang_targets_are_seed_002s():
    """Chongyang's demo targets: each year and rate is the one its document states (the seed is read when present)."""
    by = {(y, c): (r, b) for y, c, r, b in reports_demo.CHONGYANG_TARGETS}
    assert by[(2021, TargetCategory.above_size)][0] == 0.5 and by[(2021, TargetCategory.small_micro_key)][0] == 0.3
    assert by[(2023, TargetCategory.above_size)][0] == 0.8 and by[(2023, TargetCategory.small_micro_key)][0] == 0.5
    assert by[(2025, TargetCategory.small_micro_key)][0] == 0.8 and "全面推广" in by[(2025, TargetCategory.above_size)][1]
    assert all("崇质强办文〔2022〕3号" in b for _r, b in by.values())
    assert reports_demo.NANTONG_BASIS.startswith("示例") and reports_demo.KEY_INDUSTRIES_BASIS.startswith("示例")
    if SEED_002 is not None:
        text = SEED_002.read_text(encoding="utf-8")
        assert "到2021年底，力争全县规模以上企业首席质量官聘任率达50%以上，重点行业中小微企业首席质量官聘任率达30%以上" in text
        assert "到2023年底，力争全县规模以上企业首席质量官聘任率达80%以上，重点行业中小微企业首席质量官聘任率达50%以上" in text
        assert "全面推广首席质量官制度，重点行业中小微企业首席质量官聘任率达80%以上" in text


def test_policy_demo_ships_chongyang_targets_with_source(app, db):
    from lms import demo
    from tests.conftest import TODAY

    with app.app_context():
        demo.seed(db, TODAY)
        rows = db.execute(select(AppointmentTarget).join(AppointmentTarget.region)
                          .where(AppointmentTarget.year == 2023)).scalars().all()
        chongyang = [t for t in rows if t.region.code == "421223"]
        assert {(t.category, t.rate) for t in chongyang} == {(TargetCategory.above_size, 0.8),
                                                             (TargetCategory.small_micro_key, 0.5)}
        nantong = db.scalars(select(AppointmentTarget).join(AppointmentTarget.region)
                             .where(AppointmentTarget.region.has(code="320600"))).all()
        assert nantong and all(t.basis.startswith("示例") for t in nantong)
        settings = db.scalar(select(ReportingSettings))
        assert settings.key_industries_basis.startswith("示例")
        # The demo's one registered, accepted appointment (王芳 at 启东机械) is what the rate counts.
        nantong_region = db.scalar(select(Region).where(Region.code == "320600"))
        above = queries.appointment(db, nantong_region, TODAY.year, TODAY)["above_size"]
        assert above["appointed"] == 1 and above["enterprises"] > 1
        again = demo.seed(db, TODAY)
        assert again.get("appointments", 0) == 0 and again.get("targets", 0) == 0
