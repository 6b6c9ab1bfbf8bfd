"""Background issuing: one failure does not stop the others, re-running issues nothing twice, and two runs
racing on their own connections share no serial and leave no gap."""
from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from certificates import worker
from certificates.models import Certificate, IssueJob
from lms.db import Base, as_writer, make_engine
from tests import factories
from tests.cert_factories import cert_cfg, completion_rules, cw, enrol, make_class, make_programme  # noqa: F401
from tests.conftest import TODAY


def test_one_failure_does_not_stop_the_others_and_rerun_issues_nothing_twice(app, db, world, cw, cert_cfg):
    others = [enrol(db, cw.cls, factories.make_trainee(db, f"trainee_w{i}", world.ent_qd, real_name=n))
              for i, n in enumerate(["李强", "张静", "刘洋"])]
    failing = others[1].id
    maker = app.extensions["lms_db"].sessionmaker
    with completion_rules(exam=lambda e: e.id != failing):
        job = worker.start_job(db, world.staff_nt, cw.cls)
        db.commit()
        out = worker.process_job(maker, job.id, cert_cfg, TODAY)
        assert (out["total"], out["issued"], out["failed"], out["skipped"], out["status"]) == (4, 3, 1, 0, "done")
        db.expire_all()
        failed = [i for i in db.get(IssueJob, job.id).items if i.status == "failed"]
        assert failed[0].enrollment_id == failing and "规则exam" in failed[0].message
        again = worker.start_job(db, world.staff_nt, cw.cls)
        db.commit()
        out = worker.process_job(maker, again.id, cert_cfg, TODAY)
        assert (out["issued"], out["skipped"], out["failed"]) == (0, 3, 1)
    assert len(db.scalars(select(Certificate)).all()) == 3


def test_racing_runs_share_no_serial(app, tmp_path, cert_cfg):
    engine = make_engine(f"sqlite:///{tmp_path / 'race.sqlite3'}")
    Base.metadata.create_all(engine)
    maker = sessionmaker(engine, expire_on_commit=False)
    with maker() as s:
        w = factories.World.build(s)
        cls = make_class(s, w.inst_nt, make_programme(s, w.jiangsu))
        for i in range(12):
            enrol(s, cls, factories.make_trainee(s, f"racer{i:02d}", w.ent_qd, real_name="赵敏"))
        jobs = [worker.start_job(s, w.staff_nt, cls), None]
        s.commit()
        jobs[1] = IssueJob(class_id=cls.id, requested_by_id=w.staff_nt.id)  # a second run of the same class
        from certificates.models import IssueJobItem

        jobs[1].items = [IssueJobItem(enrollment_id=i.enrollment_id) for i in jobs[0].items]
        s.add(jobs[1])
        s.commit()
        job_ids = [j.id for j in jobs]
    results = {}
    with completion_rules(test_ok=True):
        def run(job_id):
            with as_writer(), app.app_context():  # as lms.jobs.background runs it
                results[job_id] = worker.process_job(maker, job_id, cert_cfg, TODAY)

        threads = [threading.Thread(target=run, args=(j,)) for j in job_ids]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
    with maker() as s:
        numbers = sorted(s.scalars(select(Certificate.number)))
    engine.dispose()
    assert numbers == [f"320600-B-2026-{n:05d}" for n in range(1, 13)]
    assert sum(r["issued"] for r in results.values()) == 12
    assert sum(r["failed"] for r in results.values()) == 0


def _numbers(db, job_id):
    db.expire_all()
    items = db.get(IssueJob, job_id).items
    return sorted(db.get(Certificate, i.certificate_id).number for i in items if i.status == "issued")


def test_a_refusal_inside_a_batch_keeps_the_others_and_returns_its_serial(app, db, world, cw, cert_cfg, monkeypatch):
    # Several certificates a transaction: the refused one is undone by its savepoint, serial included.
    monkeypatch.setattr(worker, "BATCH_ITEMS", 3)
    people = [enrol(db, cw.cls, factories.make_trainee(db, f"trainee_b{i}", world.ent_qd, real_name="周杰"))
              for i in range(6)]
    refused = {people[1].id, people[4].id}
    maker = app.extensions["lms_db"].sessionmaker
    with completion_rules(exam=lambda e: e.id not in refused):
        job = worker.start_job(db, world.staff_nt, cw.cls)
        db.commit()
        out = worker.process_job(maker, job.id, cert_cfg, TODAY)
    assert (out["total"], out["issued"], out["failed"], out["done"]) == (7, 5, 2, 7)
    assert _numbers(db, job.id) == [f"320600-B-2026-{n:05d}" for n in range(1, 6)]
    failed = {i.enrollment_id for i in db.get(IssueJob, job.id).items if i.status == "failed"}
    assert failed == refused


def test_a_batch_that_fails_as_a_whole_is_redone_one_by_one(app, db, world, cw, cert_cfg, monkeypatch):
    # An unexpected error (not a refusal) aborts the batch's transaction: nothing of it stays, and its items
    # are issued again one per transaction, the broken one marked failed, no serial lost.
    from certificates.services import issuing

    people = [enrol(db, cw.cls, factories.make_trainee(db, f"trainee_x{i}", world.ent_qd, real_name="吴磊"))
              for i in range(3)]
    broken = people[0].id
    real_check = issuing.check_issuable  # asked by the batch (IssueBatch.prepare) and one by one (issue)

    def check(session, actor, enrollment, *a, **kw):
        if enrollment.id == broken:
            raise RuntimeError("disk full")
        return real_check(session, actor, enrollment, *a, **kw)

    monkeypatch.setattr(issuing, "check_issuable", check)
    maker = app.extensions["lms_db"].sessionmaker
    with completion_rules(test_ok=True):
        job = worker.start_job(db, world.staff_nt, cw.cls)
        db.commit()
        out = worker.process_job(maker, job.id, cert_cfg, TODAY)
    assert (out["total"], out["issued"], out["failed"]) == (4, 3, 1)
    assert _numbers(db, job.id) == [f"320600-B-2026-{n:05d}" for n in range(1, 4)]
    item = next(i for i in db.get(IssueJob, job.id).items if i.enrollment_id == broken)
    assert item.status == "failed" and item.message and item.certificate_id is None
    assert len(db.scalars(select(Certificate)).all()) == 3


def test_progress_is_committed_batch_by_batch(app, db, world, cw, cert_cfg, monkeypatch):
    monkeypatch.setattr(worker, "BATCH_ITEMS", 2)
    monkeypatch.setattr(worker, "BATCH_SECONDS", 60)  # batches cut by count only: a loaded machine must not split them
    monkeypatch.setattr(worker, "BATCH_WALL_SECONDS", 60)
    for i in range(4):
        enrol(db, cw.cls, factories.make_trainee(db, f"trainee_p{i}", world.ent_qd, real_name="郑爽"))
    maker = app.extensions["lms_db"].sessionmaker
    seen = []
    real_batch = worker._issue_batch

    def batch(session_factory, item_ids, *a):
        done = real_batch(session_factory, item_ids, *a)
        with session_factory() as s:  # what a progress request sees after each batch
            seen.append(sum(1 for i in s.get(IssueJob, job.id).items if i.status != "pending"))
        return done

    monkeypatch.setattr(worker, "_issue_batch", batch)
    with completion_rules(test_ok=True):
        job = worker.start_job(db, world.staff_nt, cw.cls)
        db.commit()
        out = worker.process_job(maker, job.id, cert_cfg, TODAY)
    assert out["issued"] == 5
    assert seen == [2, 4, 5]
