"""The verification log's batch writer (lms.jobs.batches): rows handed to it reach the table on flush, none twice."""
from __future__ import annotations

from sqlalchemy import func, select

from certificates.models import VerificationLog
from lms.db import Base, make_engine, utcnow
from lms.features import import_models
from lms.jobs.batches import BatchWriter


def test_batch_writer_flushes_every_row_once(tmp_path):
    import_models()
    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    Base.metadata.create_all(engine)
    w = BatchWriter(VerificationLog.__table__, interval=3600)  # the test flushes by hand
    for _ in range(5):
        w.add(engine, {"certificate_id": None, "channel": "page", "result": "unknown", "signature_valid": None,
                       "at": utcnow()})
    w.add(engine, {"certificate_id": None, "channel": "api", "result": "unknown", "signature_valid": False,
                   "at": utcnow()})
    assert w.flush() == 6
    assert w.flush() == 0
    with engine.connect() as c:
        assert c.scalar(select(func.count(VerificationLog.id))) == 6
        assert c.scalar(select(func.count(VerificationLog.id)).where(VerificationLog.channel == "api")) == 1
    engine.dispose()
