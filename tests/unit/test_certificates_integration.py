"""Certificates feed enrolment: the next tier needs a certificate of the tier below in force, and a
certificate revoked for misconduct bars the holder."""
from __future__ import annotations

import datetime as dt

from certificates import integration  # noqa: F401  (its checks are registered by certificates.wiring, as in the app)
from certificates import services
from courses.eligibility import evaluate
from lms.domain import Tier
from tests.cert_factories import cert_cfg, completion_rules, cw, make_programme  # noqa: F401
from tests.conftest import TODAY


def _condition(ev, code):
    return next(c for c in ev.conditions if c.code == code)


def test_advanced_needs_a_basic_certificate_in_force(db, world, cw, cert_cfg):
    advanced = make_programme(db, world.jiangsu, Tier.advanced)
    advanced.requires_lower_tier = True
    ev = evaluate(db, world.trainee, advanced, TODAY)
    assert not _condition(ev, "prerequisite").met and not ev.eligible
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert _condition(evaluate(db, world.trainee, advanced, TODAY), "prerequisite").met
    # expired by the time of the next class: unmet again
    assert not _condition(evaluate(db, world.trainee, advanced, cert.valid_until + dt.timedelta(days=1)), "prerequisite").met


def test_revocation_for_misconduct_disqualifies(db, world, cw, cert_cfg):
    from courses.eligibility import JIANGSU_RULES
    from courses.services import save_rule_set

    basic = cw.programme
    basic.eligibility_rule_set_id = save_rule_set(db, world.province_admin, world.jiangsu, "江苏省", JIANGSU_RULES).id
    db.flush()
    assert evaluate(db, world.trainee, basic, TODAY).eligible
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert integration.revoked_for_misconduct(db, world.trainee) is None
    services.change_status(db, world.city_admin, cert, "revoke", "abuse_of_power", "利用职务之便谋取不正当利益", TODAY)
    reason = integration.revoked_for_misconduct(db, world.trainee)
    assert reason and "撤销" in reason
    ev = evaluate(db, world.trainee, basic, TODAY)
    assert not ev.eligible


def test_issuing_enters_the_pool_and_revocation_exits_it(db, world, cw, cert_cfg):
    from sqlalchemy import select

    from courses.models import Course, SubjectCategory
    from credits.models import CreditRecord
    from talent.models import PoolStatus, TalentEntry

    course = Course(code="T-01", title="质量法律制度", hours=8, subject_category=SubjectCategory.professional)
    db.add(course)
    db.flush()
    cw.programme.courses.append(course)
    db.flush()
    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    entry = db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))
    assert entry is not None and entry.status == PoolStatus.active and entry.highest_tier == Tier.basic
    credits = db.scalars(select(CreditRecord).where(CreditRecord.user_id == world.trainee.id)).all()
    assert [(c.year, c.hours, c.source) for c in credits] == [(TODAY.year, 8, "system")]
    services.change_status(db, world.city_admin, cert, "revoke", "quality_fault", "重大质量事故", TODAY)
    db.refresh(entry)
    assert entry.status == PoolStatus.exited


def test_expiry_job_takes_the_holder_out_of_the_pool(db, world, cw, cert_cfg):
    from sqlalchemy import select

    from talent.models import PoolStatus, TalentEntry

    with completion_rules(ok=True):
        cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert services.expire_due(db, cert.valid_until + dt.timedelta(days=1)) == 1
    entry = db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))
    assert entry.status == PoolStatus.exited
