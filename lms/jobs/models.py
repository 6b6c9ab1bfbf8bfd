from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from lms.db import Base, UTCDateTime, utcnow
from lms.domain import Role
from lms.scoping import scope_rule


class JobRun(Base):
    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="running")  # running / ok / error
    trigger: Mapped[str] = mapped_column(String(16), default="schedule")  # schedule / manual
    result: Mapped[dict] = mapped_column(JSON, default=dict)
    holder: Mapped[str] = mapped_column(String(128), default="")


Index("ix_job_runs_job_id_started_at", JobRun.job_id, JobRun.started_at)


class SchedulerLease(Base):
    """One row per lease name; the process whose ``holder`` it names and whose lease has not expired runs
    the jobs. A second scheduler started by mistake waits instead of running everything twice."""

    __tablename__ = "scheduler_leases"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


@scope_rule(JobRun)
def _job_scope(user):
    return user.role == Role.system_admin
