"""The verification log's batch writer: rows handed to it reach the table on flush, none twice."""
from __future__ import annotations

from sqlalchemy import func, select

from certificates.models import VerificationLog
from certificates.verification_log import BatchWriter
from lms.db import Base, make_engine
from lms.features import import_models


def test_batch_writer_flushes_every_row_once(tmp_path):
    import_models()
    engine = make_engine(f"sqlite:///{tmp_path / 'log.sqlite3'}")
    Base.metadata.create_all(engine)
    w = BatchWriter(interval=3600)  # the test flushes by hand
    for i in range(5):
        w.add(engine, None, "page", "unknown", None)
    w.add(engine, None, "api", "unknown", False)
    assert w.flush() == 6
    assert w.flush() == 0
    with engine.connect() as c:
        assert c.scalar(select(func.count(VerificationLog.id))) == 6
        assert c.scalar(select(func.count(VerificationLog.id)).where(VerificationLog.channel == "api")) == 1
    engine.dispose()
