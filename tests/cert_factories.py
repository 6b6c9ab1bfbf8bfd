"""Builders for certificate tests: the few courses rows a certificate needs (created directly with the
courses models, whose services live in another branch), completion rules registered for one test, keys in a
temporary directory."""
from __future__ import annotations

import datetime as dt
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy.orm import Session

from certificates import keys
from certificates.services import CertConfig
from courses import gates
from courses.models import Enrollment, EnrollmentStatus, Programme, TrainingClass
from lms import completion
from lms.domain import Tier
from lms.orgs.models import Institution, Region
from tests.conftest import TODAY

BASE_URL = "https://cqo.example.gov.cn"


def make_programme(s: Session, province: Region, tier: Tier = Tier.basic, year: int = 2026, validity: int = 3) -> Programme:
    p = Programme(province_id=province.id, tier=tier, year=year, name=f"{year}年{province.name}首席质量官{tier.label}培训",
                  total_hours=40, certificate_validity_years=validity)
    s.add(p)
    s.flush()
    return p


def make_class(s: Session, inst: Institution, programme: Programme, name: str = "2026年第一期", region: Region | None = None,
               start: dt.date = dt.date(2026, 9, 1)) -> TrainingClass:
    c = TrainingClass(programme_id=programme.id, institution_id=inst.id, region_id=(region or inst.region).id, name=name,
                      start_date=start, end_date=start + dt.timedelta(days=4), capacity=50,
                      enrol_opens_on=start - dt.timedelta(days=30), enrol_closes_on=start - dt.timedelta(days=5))
    s.add(c)
    s.flush()
    gates.record_filed(s, c)  # filed with and accepted by its bureau, so it may enrol and certify
    return c


def enrol(s: Session, cls: TrainingClass, user, status: EnrollmentStatus = EnrollmentStatus.approved) -> Enrollment:
    e = Enrollment(class_id=cls.id, user_id=user.id, status=status, eligibility={})
    s.add(e)
    s.flush()
    return e


@contextmanager
def completion_rules(**verdicts):
    """Stand in for the features' own rules: only ``code=met`` (bool, or a callable(enrollment) -> bool) are
    registered for the block, then the real registry is restored. Certificates' logic is tested on its own;
    the real attendance, lesson and exam rules are tested in their packages and together end to end."""
    saved, saved_many = list(completion._rules), dict(completion._many)
    completion._rules[:] = []
    completion._many.clear()

    def make(code, verdict):
        def rule(session, enrollment):
            met = verdict(enrollment) if callable(verdict) else verdict
            return completion.RuleResult(code, f"规则{code}", met, "已满足" if met else "未满足：出勤率 50%，要求不低于 80%")
        return rule

    for code, verdict in verdicts.items():
        completion.completion_rule(code)(make(code, verdict))
    try:
        yield
    finally:
        completion._rules[:] = saved
        completion._many.clear()
        completion._many.update(saved_many)


@pytest.fixture
def completion_rule():
    """``completion_rule("test_ok")`` registers an always-met rule for the rest of the test."""
    stack = []

    def register(code: str, met=True):
        cm = completion_rules(**{code: met})
        cm.__enter__()
        stack.append(cm)

    yield register
    for cm in reversed(stack):
        cm.__exit__(None, None, None)


@pytest.fixture
def cert_cfg(tmp_path) -> CertConfig:
    key_dir = tmp_path / "keys"
    keys.create_key(key_dir, TODAY)
    return CertConfig(str(key_dir), BASE_URL)


@dataclass
class CertWorld:
    programme: Programme
    cls: TrainingClass
    e_wang: Enrollment


@pytest.fixture
def cw(db, world) -> CertWorld:
    prog = make_programme(db, world.jiangsu)
    cls = make_class(db, world.inst_nt, prog)
    return CertWorld(prog, cls, enrol(db, cls, world.trainee))
