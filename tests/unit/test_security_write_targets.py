"""Issue 18: "every service that changes a record checks the actor ... against the target if the change moves it".
The write sweep (tests/web/test_security_writes_sweep.py) covers records named in a path; these are the targets
named in a body, for the features above courses: an exam set for another institution's class, a blueprint drawing
on another institution's question bank, a credit claim made for someone else, an enterprise registered in another
province. Each is refused and nothing is written."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from credits import services as credits
from credits.models import CreditClaim
from exams import papers
from exams.models import BlueprintSection, Exam
from lms.errors import DomainError
from lms.orgs import services as org_services
from lms.orgs.models import Enterprise
from tests import exam_factories as ef
from tests.conftest import TODAY

NOW = dt.datetime(2026, 11, 22, 2, tzinfo=dt.timezone.utc)


def _count(db, model) -> int:
    return db.scalar(select(func.count()).select_from(model))


def test_security_write_targets_exam_for_another_institutions_class(db, world):
    nt_class = ef.make_class(db, world.inst_nt, ef.make_programme(db, world.jiangsu))
    before = _count(db, Exam)
    with pytest.raises(DomainError) as exc:
        papers.save_exam(db, world.staff_fj, papers.ExamData(
            title="越权考试", class_id=nt_class.id, programme_id=None, opens_at=NOW, closes_at=NOW + dt.timedelta(days=1),
            duration_minutes=60))
    assert "class_id" in exc.value.errors
    assert _count(db, Exam) == before


def test_security_write_targets_blueprint_from_another_institutions_bank(db, world):
    nt_bank = ef.make_bank(db, world.staff_nt)
    fj_class = ef.make_class(db, world.inst_fj, ef.make_programme(db, world.fujian))
    fj_exam = ef.make_exam(db, world.staff_fj, fj_class, ef.make_bank(db, world.staff_fj), publish=False)
    before = _count(db, BlueprintSection)
    with pytest.raises(DomainError) as exc:
        papers.add_section(db, world.staff_fj, fj_exam, papers.SectionData(nt_bank.id, "single", 1, 10))
    assert "bank_id" in exc.value.errors
    assert _count(db, BlueprintSection) == before


def test_security_write_targets_credit_claim_for_someone_else(db, world, app):
    before = _count(db, CreditClaim)
    with pytest.raises(DomainError):
        credits.submit_claim(db, world.trainee_fz, credits.ClaimData(
            user_id=world.trainee.id, title="论坛", organiser="", activity_date=TODAY, hours=4,
            subject_category="public"), b"%PDF-1.4\n%%EOF", "e.pdf", app.config["UPLOAD_DIR"], TODAY)
    assert _count(db, CreditClaim) == before


def test_security_write_targets_enterprise_moved_to_another_province(db, world):
    ent = world.ent_fz
    with pytest.raises(DomainError):
        org_services.save_enterprise(db, world.fujian_admin, org_services.EnterpriseData(
            name=ent.name, credit_code=ent.credit_code, region_id=world.qidong.id, industry="",
            ownership_type=ent.ownership_type.value, size_class=ent.size_class.value, above_designated_size=False), ent)
    db.expire_all()
    assert db.get(Enterprise, ent.id).region_id == world.fuzhou.id
