from __future__ import annotations

import datetime as dt

from sqlalchemy import JSON, BigInteger, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from lms.db import Base, UTCDateTime, utcnow
from lms.domain import Role, enum_column_type
from lms.orgs.models import Institution, Region, region_subtree_ids
from lms.scoping import scope_rule


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    display_name: Mapped[str] = mapped_column(String(64))
    role: Mapped[Role] = mapped_column(enum_column_type(Role), index=True)
    region_id: Mapped[int | None] = mapped_column(ForeignKey("regions.id"), index=True)
    institution_id: Mapped[int | None] = mapped_column(ForeignKey("institutions.id"), index=True)
    enterprise_id: Mapped[int | None] = mapped_column(ForeignKey("enterprises.id"), index=True)  # Role.enterprise
    email: Mapped[str] = mapped_column(String(128), default="")
    is_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    region: Mapped[Region | None] = relationship()
    institution: Mapped[Institution | None] = relationship()

    # Flask-Login protocol. The id Flask-Login keeps in the cookie is the server-side session id, so
    # that ending the session row ends the cookie.
    current_session_id = None  # set per request by the session loader; not a column
    session_seen_due = False  # the session's last-seen time is older than its granularity (session loader)
    token_used_due = None  # the id of the API token whose last-used time is due (token loader)

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.is_enabled

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        return self.current_session_id

    @property
    def is_staff(self) -> bool:
        return self.role in (Role.institution_staff, Role.regulator_admin, Role.system_admin)

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role.value}>"


class UserSession(Base):
    """A login. The cookie names it; logout, disabling the account or a password change ends it."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str] = mapped_column(String(255), default="")

    user: Mapped[User] = relationship()


class ApiToken(Base):
    """A bearer token for /api/v1. Only its SHA-256 is stored; the clear token is shown once."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginAttempt(Base):
    """Failed and successful logins, for throttling. Kept in the database so that every worker sees them."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(64))
    succeeded: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


Index("ix_login_attempts_username_at", LoginAttempt.username, LoginAttempt.at)
Index("ix_login_attempts_address_at", LoginAttempt.address, LoginAttempt.at)


class AuditEvent(Base):
    """Who did what to which record, and refused attempts. ``detail`` never holds personal data."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(64), default="")
    object_id: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[dict] = mapped_column(JSON, default=dict)
    request_id: Mapped[str] = mapped_column(String(32), default="")
    # The tamper-evident chain (lms.auditchain): the event's place in the one chain, the hash of the event
    # before it and its own hash over its fields and that link. Set when the event is flushed.
    chain_seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    prev_hash: Mapped[str] = mapped_column(String(64), default="")
    hash: Mapped[str] = mapped_column(String(64), default="")

    actor: Mapped[User | None] = relationship()


class AuditChainHead(Base):
    """The chain's head (one row, id 1): the last event's place and hash. Writers lock it (PostgreSQL: the row
    lock of an UPDATE; SQLite: the write lock) so that two transactions never chain onto the same event."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    last_hash: Mapped[str] = mapped_column(String(64))


class AuditAnchor(Base):
    """A day's anchor: where the chain stood at the end of that day (China time). Also written to the log and
    exportable (``flask audit anchors``), so that a copy kept outside the database shows a rewritten chain."""

    __tablename__ = "audit_anchors"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, unique=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
    events: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@scope_rule(User)
def _user_scope(user):
    if user.role == Role.system_admin:
        return True
    if user.role == Role.regulator_admin:
        inst_ids = (
            Institution.__table__.select()
            .with_only_columns(Institution.id)
            .where(Institution.region_id.in_(region_subtree_ids(user)))
            .scalar_subquery()
        )
        return (User.id == user.id) | (
            User.role.in_([Role.regulator_admin]) & User.region_id.in_(region_subtree_ids(user))
        ) | (User.role.in_([Role.institution_staff]) & User.institution_id.in_(inst_ids)) | (
            (User.role == Role.enterprise) & User.region_id.in_(region_subtree_ids(user)))  # enterprise accounts
    if user.role == Role.institution_staff:
        return (User.id == user.id) | (
            (User.role == Role.institution_staff) & (User.institution_id == user.institution_id)
        )
    return User.id == user.id


@scope_rule(ApiToken)
def _token_scope(user):
    return ApiToken.user_id == user.id


@scope_rule(AuditEvent)
def _audit_scope(user):
    return user.role == Role.system_admin
