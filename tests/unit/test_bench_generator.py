"""The benchmark's data generator at a tiny scale: deterministic, valid, the counts it promises. Correctness
only: nothing here looks at a clock."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import case, func, select
from stdnum.cn import ric

from bench import generate as gen_mod
from bench.generate import generate, prepare_database, sizes, trainee_rows
from tests.conftest import TODAY, make_app


def test_trainee_rows_are_deterministic_unique_and_valid():
    a = list(trainee_rows(7, 3000))
    assert a == list(trainee_rows(7, 3000))
    assert a != list(trainee_rows(8, 3000))
    assert list(trainee_rows(7, 10, start=2990)) == a[2990:]
    ids = [r[2] for r in a]
    assert len(set(ids)) == len(ids) and len({r[0] for r in a}) == len(a)
    for username, name, idn, gender, birth, phone in a:
        assert ric.is_valid(idn)
        assert ric.get_birth_date(idn) == birth
        assert (int(idn[16]) % 2 == 1) == (gender == "male")
        assert len(phone) == 11 and phone.startswith("1")


def test_sizes_reach_the_issue_sizes_at_full_scale():
    assert sizes(1.0) == {"trainees": 200_000, "enterprises": 2_000, "credit_records": 2_000_000,
                          "certificates": 50_000, "questions": 500}
    assert sizes(0.0001)["trainees"] == gen_mod.MIN["trainees"]


@pytest.fixture
def bench_app(tmp_path):
    url = f"sqlite:///{tmp_path / 'bench.sqlite3'}"
    app = make_app(url, tmp_path)
    prepare_database(app, TODAY)
    yield app
    from lms.db import db

    with app.app_context():
        db.engine.dispose()


def test_generate_tiny_scale(bench_app, monkeypatch):
    monkeypatch.setattr(gen_mod, "ISSUE_TRAINEES", 50)
    monkeypatch.setattr(gen_mod, "CHECKIN_TRAINEES", 40)
    monkeypatch.setattr(gen_mod, "EXAM_TRAINEES", 30)
    monkeypatch.setattr(gen_mod, "MIN", {**gen_mod.MIN, "trainees": 300, "certificates": 60, "questions": 120})
    g = generate(bench_app, scale=0.0001, quiet=True, today=TODAY)
    assert g.counts["trainees"] == 300 and g.counts["certificates"] == 60
    assert g.counts["enterprises"] == 20 and g.counts["questions"] == 120

    from certificates import keys, services, signing
    from certificates.models import Certificate
    from courses.models import Enrollment
    from lms.db import db
    from lms.people.models import TraineeProfile

    with bench_app.app_context():
        s = db.session
        # The encrypted ID numbers decrypt to the generated, valid ones, and the look-up hash matches.
        expected = {r[2] for r in trainee_rows(2026, 300)}
        got = list(s.execute(select(TraineeProfile.id_number, TraineeProfile.id_number_hash)
                             .where(TraineeProfile.user_id >= g.first_user_id)))
        assert {idn for idn, _ in got} == expected
        from lms.pii import lookup_hash

        assert all(lookup_hash(idn) == h for idn, h in got)
        # Certificates carry signatures that the published keys verify.
        doc = keys.public_document(bench_app.config["CERT_KEY_DIR"])
        certs = list(s.scalars(select(Certificate).where(Certificate.class_id == g.cert_class_id)))
        assert len(certs) == 60 and all(services.signature_matches(c, c.signed_part, doc) for c in certs)
        # Issue 20: no end date unless the province sets a validity (the product's default).
        assert all(c.valid_until is None for c in certs)
        from courses.models import Programme, TrainingClass

        issuing = s.get(Programme, s.get(TrainingClass, g.issue_class_id).programme_id)
        assert issuing.certificate_validity_years is None
        assert s.scalar(select(func.count(Enrollment.id)).where(Enrollment.class_id == g.issue_class_id)) == 50
        # The issuing class is complete: every rule met.
        enr = s.scalar(select(Enrollment).where(Enrollment.class_id == g.issue_class_id))
        assert all(r.met for r in services.completion_check(s, enr))
        from credits.models import CreditRecord

        assert s.scalar(select(func.count(CreditRecord.id)).where(CreditRecord.source_ref.like("bench:%"))) == 2000


def test_perf_generator_appointments_make_the_rollup_agree_with_plain_sql(bench_app, monkeypatch):
    """Issue 20: the generator registers appointments (accepted, awaiting review, returned; some ended), so the
    roll-up holds the people in office to the CE rule; its compliant count equals the bench's plain-SQL check
    written from seed 002 (三) (in office: report OR hours), and some people are non-compliant."""
    monkeypatch.setattr(gen_mod, "ISSUE_TRAINEES", 20)
    monkeypatch.setattr(gen_mod, "CHECKIN_TRAINEES", 20)
    monkeypatch.setattr(gen_mod, "EXAM_TRAINEES", 20)
    monkeypatch.setattr(gen_mod, "MIN", {**gen_mod.MIN, "trainees": 400, "certificates": 20, "questions": 120,
                                          "credit_records": 1200})
    g = generate(bench_app, scale=0.0001, quiet=True, today=TODAY)

    from bench.workloads_pool import plain_compliant
    from credits.models import YearStanding
    from lms.db import db
    from lms.jobs import services as jobs
    from lms.templating import SHANGHAI
    from talent import jobs as _talent_jobs  # noqa: F401  (registers the roll-up job)
    from talent.models import Appointment, RegistrationStatus

    year = g.rollup_year
    with bench_app.app_context():
        s = db.session
        apps = s.execute(select(Appointment.user_id, Appointment.status, Appointment.appointed_on, Appointment.ended_on,
                                Appointment.enterprise_head_phone)
                         .where(Appointment.user_id >= g.first_user_id)).all()
        assert len(apps) == g.counts["appointments"] and len({a.user_id for a in apps}) == len(apps)
        accepted = [a for a in apps if a.status == RegistrationStatus.accepted]
        assert len(accepted) == g.counts["appointments_accepted"]
        # Realistic shares (POOL_APPOINTMENTS: 70 % accepted, 6 % pending or returned), at 400 people within noise.
        assert 0.6 < len(accepted) / 400 < 0.8 and {a.status for a in apps} == set(RegistrationStatus)
        assert any(a.ended_on for a in accepted) and all(a.ended_on is None or a.ended_on > a.appointed_on for a in apps)
        # Some appointments start in the roll-up's year (first year: exempt), some after it (not in office).
        assert any(a.appointed_on.year == year for a in accepted) and any(a.appointed_on.year > year for a in accepted)
        assert all(a.enterprise_head_phone.startswith("1390000") for a in apps)  # encrypted, decrypts
        maker = bench_app.extensions["lms_db"].sessionmaker
        now = dt.datetime(year + 1, 1, 2, 1, 30, tzinfo=SHANGHAI)
        run = jobs.run_job(maker, "talent-rollup", trigger="test", now=now)
        assert run.status == "ok", run.result
    with maker() as s:
        n, ok = s.execute(select(func.count(), func.sum(case((YearStanding.compliant, 1), else_=0)))
                          .where(YearStanding.year == year)).one()
        expected = plain_compliant(s, year)
    assert run.result["compliant"] == ok == expected
    assert 0 < ok < n  # the rule holds some people and some miss it
