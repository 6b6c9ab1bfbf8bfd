"""The verification log, written in batches.

Every public verification is logged (what was looked up, the answer; never who asked). Written in the request's
own transaction, that row turned each QR scan into a write; the platform's ``lms.jobs.batches.BatchWriter`` keeps
the rows per process and inserts them every half second instead, so a scan costs one SELECT. A crash loses at most
the last interval's rows: they are statistics, not evidence (the certificate's state lives in
``certificate_events``).
"""
from __future__ import annotations

from flask import current_app
from sqlalchemy.engine import Engine

from certificates.models import VerificationLog
from lms.db import utcnow
from lms.jobs.batches import BatchWriter

writer = BatchWriter(VerificationLog.__table__)


def log_verification(engine: Engine, certificate_id: int | None, channel: str, result: str,
                     signature_valid: bool | None) -> None:
    """Queue one verification's row (written by the batch writer within half a second)."""
    writer.add(engine, {"certificate_id": certificate_id, "channel": channel, "result": result,
                        "signature_valid": signature_valid, "at": utcnow()})


def batched_log() -> bool:
    """Whether the current app batches the log: yes unless configured otherwise or testing (a test's database
    session must see the row it caused)."""
    return batched_log_of(current_app)


def batched_log_of(app) -> bool:
    """``batched_log`` of ``app`` (certificates.fastpath: no application context)."""
    configured = app.config["CERT_VERIFY_LOG_BATCHED"]
    return (not app.testing) if configured is None else bool(configured)
