"""The benchmark's data generator at a tiny scale: deterministic, valid, the counts it promises. Correctness
only: nothing here looks at a clock."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select
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
