"""Continuing-education credits: system awards, claims with evidence, reviews, the report, the chart."""
import datetime as dt

import pytest
from sqlalchemy import func, select

from credits import queries as credit_queries
from credits import services
from credits.models import ClaimStatus, CreditRecord
from credits.views import progress_chart
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.scoping import visible

PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj<<>>endobj\n%%EOF"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
TODAY = dt.date(2026, 11, 22)


def claim(world, app, db, hours=8, evidence=PDF, user=None, actor=None, **kw):
    user = user or world.trainee
    data = services.ClaimData(user_id=user.id, title=kw.get("title", "长三角质量论坛"), organiser="省质协",
                              activity_date=kw.get("activity_date", dt.date(2026, 10, 10)), hours=hours,
                              subject_category=kw.get("subject_category", "professional"),
                              institution_id=kw.get("institution_id"))
    return services.submit_claim(db, actor or world.trainee, data, evidence, "证明.pdf", app.config["UPLOAD_DIR"], TODAY)


def test_award_system_credit_is_idempotent(db, world):
    a = services.award_system_credit(db, user_id=world.trainee.id, year=2026, hours=12, subject_category="professional",
                                     source_ref="class:7:user:1", title="质量经济性分析")
    b = services.award_system_credit(db, user_id=world.trainee.id, year=2026, hours=12, subject_category="professional",
                                     source_ref="class:7:user:1", title="质量经济性分析")
    assert a.id == b.id
    assert db.scalar(select(func.count()).select_from(CreditRecord)) == 1
    with pytest.raises(ValidationFailed):
        services.award_system_credit(db, user_id=world.trainee.id, year=2026, hours=-3, subject_category="public",
                                     source_ref="x", title="x")


@pytest.mark.parametrize("hours", [0, -5, 201, 10000, None])
def test_absurd_hours_refused(db, world, app, hours):
    with pytest.raises(ValidationFailed) as exc:
        claim(world, app, db, hours=hours)
    assert "hours" in exc.value.errors


@pytest.mark.parametrize("evidence", [b"MZ\x90\x00 an exe", b"<html><script>alert(1)</script>", b"", b"PK\x03\x04 not a zip"])
def test_evidence_must_be_a_document_or_image_by_content(db, world, app, evidence):
    with pytest.raises(ValidationFailed) as exc:
        claim(world, app, db, evidence=evidence)
    assert "evidence" in exc.value.errors


def test_evidence_size_limited(db, world, app):
    with pytest.raises(ValidationFailed):
        claim(world, app, db, evidence=PDF + b"0" * (11 * 1024 * 1024))


def test_claim_for_another_person_refused(db, world, app):
    with pytest.raises(Forbidden):
        claim(world, app, db, user=world.trainee_fz)
    with pytest.raises(Forbidden):
        claim(world, app, db, actor=world.city_admin)


def test_future_activity_refused(db, world, app):
    with pytest.raises(ValidationFailed):
        claim(world, app, db, activity_date=dt.date(2027, 1, 5))


def test_review_by_bureau_and_institution(db, world, app):
    c = claim(world, app, db, hours=16, evidence=PNG)
    assert c.evidence_mime == "image/png"
    # Fujian's bureau cannot see a Jiangsu trainee's claim; the Nantong city bureau can
    assert db.scalar(visible(type(c), world.fujian_admin).where(type(c).id == c.id)) is None
    assert db.scalar(visible(type(c), world.city_admin).where(type(c).id == c.id)) is not None
    with pytest.raises(ValidationFailed):
        services.review_claim(db, world.city_admin, c, approve=False, reason="  ")
    services.review_claim(db, world.city_admin, c, approve=True, reason="")
    assert c.status == ClaimStatus.approved
    assert credit_queries.progress(db, world.trainee.id, 2026, world.jiangsu.id).professional == 16
    with pytest.raises(DomainError):
        services.review_claim(db, world.city_admin, c, approve=True, reason="")
    c2 = claim(world, app, db, hours=4, institution_id=world.inst_nt.id, subject_category="public")
    assert db.scalar(visible(type(c2), world.staff_nt).where(type(c2).id == c2.id)) is not None
    assert db.scalar(visible(type(c2), world.staff_fj).where(type(c2).id == c2.id)) is None
    services.review_claim(db, world.staff_nt, c2, approve=False, reason="证明材料与活动不符")
    assert c2.status == ClaimStatus.rejected and c2.review_reason == "证明材料与活动不符"
    assert credit_queries.progress(db, world.trainee.id, 2026, world.jiangsu.id).public == 0


def test_trainee_sees_only_own_credits(db, world):
    services.award_system_credit(db, user_id=world.trainee_fz.id, year=2026, hours=5, subject_category="public",
                                 source_ref="fz:1", title="公需")
    assert db.scalars(visible(CreditRecord, world.trainee)).all() == []
    assert len(db.scalars(visible(CreditRecord, world.trainee_fz)).all()) == 1


def test_report_needs_content_and_a_sane_year(db, world):
    with pytest.raises(ValidationFailed):
        services.file_report(db, world.trainee, year=2026, summary="太短", today=TODAY)
    with pytest.raises(ValidationFailed):
        services.file_report(db, world.trainee, year=2020, summary="本年度履职情况良好，完成质量目标。" * 2, today=TODAY)
    with pytest.raises(Forbidden):
        services.file_report(db, world.city_admin, year=2026, summary="本年度履职情况良好，完成质量目标。" * 2, today=TODAY)


def test_rule_edit_only_by_province_bureau(db, world):
    with pytest.raises(Forbidden):
        services.save_rule(db, world.city_admin, world.jiangsu.id, required_hours=60, professional_min_hours=40,
                           report_required=True, report_due_month=12, change_registration_days=30)
    with pytest.raises(ValidationFailed):
        services.save_rule(db, world.province_admin, world.jiangsu.id, required_hours=60, professional_min_hours=80,
                           report_required=True, report_due_month=12, change_registration_days=30)
    r = services.save_rule(db, world.province_admin, world.jiangsu.id, required_hours=72, professional_min_hours=48,
                           report_required=True, report_due_month=11, change_registration_days=45)
    assert credit_queries.rule_for(db, world.jiangsu.id).required_hours == 72 and r.change_registration_days == 45
    assert credit_queries.rule_for(db, world.fujian.id).required_hours == 90  # default


def test_progress_chart_is_plain_svg(db, world, app):
    services.award_system_credit(db, user_id=world.trainee.id, year=2026, hours=30, subject_category="professional",
                                 source_ref="c1", title="t")
    with app.test_request_context():
        svg = progress_chart(credit_queries.progress(db, world.trainee.id, 2026, world.jiangsu.id))
    assert svg.startswith("<svg") and "<script" not in svg and "style=" not in svg and 'data-value="30"' in svg
