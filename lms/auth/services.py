"""Accounts: creation, passwords, authentication with throttling, server-side sessions and API tokens."""
from __future__ import annotations

import datetime as dt
import hashlib
import re
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from flask_babel import gettext as _
from itsdangerous import BadData, URLSafeTimedSerializer
from zxcvbn.frequency_lists import FREQUENCY_LISTS
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import Session, joinedload

from lms import audit
from lms.auth.models import ApiToken, LoginAttempt, User, UserSession
from lms.db import UTCDateTime, utcnow
from lms.domain import Role, has_control_characters
from lms.errors import DomainError, Forbidden, ValidationFailed
from lms.orgs.models import Enterprise, Institution, Region

_hasher = PasswordHasher()


def configure_hasher(time_cost: int, memory_cost: int, parallelism: int = 4) -> None:
    """Set Argon2id's cost (the factory does, from config; tests use a cheap one)."""
    global _hasher
    _hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)


USERNAME_RE = re.compile(r"^[A-Za-z0-9_.-]{3,64}$")
TOKEN_PREFIX = "cqo_"


class Throttled(DomainError):
    status = 429


# ---------------------------------------------------------------- passwords
def hash_password(password: str) -> str:
    """An Argon2id hash of the password."""
    return _hasher.hash(password)


def check_password(user: User, password: str) -> bool:
    """Does the password match the user's hash?"""
    try:
        return _hasher.verify(user.password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


# The 30,000 most common passwords, as kept by zxcvbn (MIT licence; from leaked-password corpora), compared
# case-insensitively (issue 18: "password1" was accepted).
COMMON_PASSWORDS = frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])
MIN_PASSWORD_LENGTH = 10


def password_problem(password: str) -> str | None:
    """None if acceptable, else the reason in Chinese: at least 10 characters, letters and digits, not a common one."""
    if len(password) < MIN_PASSWORD_LENGTH:
        return _("密码至少需要 %(n)d 位", n=MIN_PASSWORD_LENGTH)
    if len(password) > 128:
        return _("密码不能超过 128 位")
    if not re.search(r"[A-Za-z]", password) or not re.search(r"\d", password):
        return _("密码须同时包含字母和数字")
    if password.lower() in COMMON_PASSWORDS:
        return _("该密码过于常见，容易被猜中，请换一个")
    return None


# ---------------------------------------------------------------- accounts
def validate_username(session: Session, username: str) -> str:
    """The trimmed username if it is well formed and not taken (case-insensitively), else ValidationFailed."""
    username = (username or "").strip()
    if not USERNAME_RE.match(username):
        raise ValidationFailed({"username": _("用户名须为 3-64 位字母、数字、下划线、点或减号")})
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise ValidationFailed({"username": _("用户名“%(name)s”已被使用", name=username)})
    return username


def can_create(creator: User | None, role: Role, region: Region | None, institution: Institution | None) -> bool:
    """Staff accounts are created by the admins above them: a system admin creates any account; a
    regulator admin creates regulator admins of its region or below and staff of institutions there."""
    if creator is None or creator.role == Role.system_admin:
        return True
    if creator.role != Role.regulator_admin or creator.region is None:
        return False
    if role == Role.regulator_admin:
        return region is not None and creator.region.contains(region)
    if role == Role.institution_staff:
        return institution is not None and creator.region.contains(institution.region)
    if role == Role.enterprise:  # county or city bureau over the enterprise's region (issue 14)
        return region is not None and creator.region.contains(region)
    return False


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    display_name: str,
    role: Role,
    region: Region | None = None,
    institution: Institution | None = None,
    email: str = "",
    created_by: User | None = None,
    enterprise: Enterprise | None = None,
) -> User:
    """Create an account. ``created_by`` None means the operator's command line."""
    errors: dict[str, str] = {}
    try:
        username = validate_username(session, username)
    except ValidationFailed as exc:
        errors.update(exc.errors)
    problem = password_problem(password)
    if problem:
        errors["password"] = problem
    if not (display_name or "").strip():
        errors["display_name"] = _("请填写姓名")
    elif has_control_characters(display_name):
        errors["display_name"] = _("姓名中不能包含控制字符或不可见字符")
    if role == Role.regulator_admin and region is None:
        errors["region"] = _("监管部门管理员必须属于一个地区")
    if role == Role.institution_staff and institution is None:
        errors["institution"] = _("培训机构工作人员必须属于一个培训机构")
    if role == Role.enterprise and enterprise is None:
        errors["enterprise"] = _("企业账号必须属于一家企业")
    if enterprise is not None:
        region = enterprise.region
    if errors:
        raise ValidationFailed(errors)
    if not can_create(created_by, role, region, institution):
        raise Forbidden(_("您无权创建此类账号"))
    user = User(
        username=username,
        password_hash=hash_password(password),
        display_name=display_name.strip(),
        role=role,
        region_id=region.id if region else (institution.region_id if institution else None),
        institution_id=institution.id if institution else None,
        enterprise_id=enterprise.id if enterprise else None,
        email=email.strip(),
        created_by_id=created_by.id if created_by else None,
        password_changed_at=utcnow(),
    )
    session.add(user)
    session.flush()
    audit.record(session, created_by, "user.create", user, role=role.value)
    return user


def set_enabled(session: Session, actor: User, user: User, enabled: bool) -> None:
    """Enable or disable an account; disabling ends its sessions and API tokens at once."""
    if user.id == actor.id:
        raise DomainError(_("不能停用自己的账号"))
    if not can_create(actor, user.role, user.region, user.institution):
        raise Forbidden(_("您无权管理此账号"))
    user.is_enabled = enabled
    if not enabled:
        end_all_sessions(session, user)
        session.execute(
            update(ApiToken)
            .where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=utcnow())
        )
    audit.record(session, actor, "user.enable" if enabled else "user.disable", user)


def change_password(session: Session, user: User, current: str, new: str, keep_session: str | None) -> None:
    """Change the password; every other session of the user ends."""
    if not check_password(user, current):
        raise ValidationFailed({"current_password": _("当前密码不正确")})
    problem = password_problem(new)
    if problem:
        raise ValidationFailed({"new_password": problem})
    user.password_hash = hash_password(new)
    user.password_changed_at = utcnow()
    end_all_sessions(session, user, except_id=keep_session)
    audit.record(session, user, "user.password_change", user)


# ---------------------------------------------------------------- authentication
def _recent_failures(session: Session, column, value: str, window: int) -> int:
    since = utcnow() - dt.timedelta(seconds=window)
    return session.scalar(
        select(func.count()).select_from(LoginAttempt).where(
            column == value, LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since
        )
    ) or 0


def login_wait(session: Session, username: str, address: str, *, window: int = 900, free_failures: int = 3,
               max_per_address: int = 20, max_delay: int = 900) -> int:
    """Seconds the account must still wait before another try FROM THIS ADDRESS (issue 18): failures count per
    account and address together, and after ``free_failures`` each one doubles the wait (2, 4, 8 … s, at most
    ``max_delay``). An address with ``max_per_address`` failures across accounts also delays, but only the accounts
    that failed from it: nobody is ever locked out from every address, and a shared proxy never blocks a correct first
    login of another account."""
    since = utcnow() - dt.timedelta(seconds=window)
    pair = session.execute(select(func.count(), func.max(LoginAttempt.at)).where(
        LoginAttempt.username == username.lower(), LoginAttempt.address == address,
        LoginAttempt.succeeded.is_(False), LoginAttempt.at >= since)).one()
    failures, last = pair[0] or 0, pair[1]
    if not failures:
        return 0
    excess = failures - free_failures
    if _recent_failures(session, LoginAttempt.address, address, window) >= max_per_address:
        excess = max(excess, 1)
    if excess <= 0:
        return 0
    if last.tzinfo is None:
        last = last.replace(tzinfo=dt.timezone.utc)
    ready = last + dt.timedelta(seconds=min(2 ** excess, max_delay))
    return max(0, int((ready - utcnow()).total_seconds() + 0.999))


def authenticate(session: Session, username: str, password: str, address: str, **limits) -> User:
    """Check a login. While the account must wait (``login_wait``) it raises Throttled (HTTP 429) without checking
    the password; every failure is recorded and audited."""
    username = (username or "").strip()[:64]
    wait = login_wait(session, username, address, **limits)
    if wait:
        raise Throttled(_("登录失败次数过多，请 %(n)d 秒后再试", n=wait))
    user = session.scalar(select(User).where(func.lower(User.username) == username.lower()))
    ok = user is not None and check_password(user, password) and user.is_enabled
    session.add(LoginAttempt(username=username.lower(), address=address, succeeded=ok))
    if not ok:
        if user is None:
            hash_password(password)  # spend the same time whether or not the account exists
        audit.record(session, None, "user.login_failed", user)
        raise DomainError(_("用户名或密码不正确，或账号已停用"))
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    return user


def clear_login_failures(session: Session, actor: User, user: User) -> int:
    """Unlock an account: forget its recent failed logins (their audit events stay). Admins who manage the
    account may do it (issue 18: an unlock that needs no CAPTCHA)."""
    if not can_create(actor, user.role, user.region, user.institution):
        raise Forbidden(_("您无权管理此账号"))
    return _forget_failures(session, actor, user, "user.unlock")


def _forget_failures(session: Session, actor: User, user: User, action: str, address: str | None = None) -> int:
    cond = [LoginAttempt.username == user.username.lower(), LoginAttempt.succeeded.is_(False)]
    if address is not None:
        cond.append(LoginAttempt.address == address)
    n = session.execute(delete(LoginAttempt).where(*cond)).rowcount
    audit.record(session, actor, action, user, failures=n)
    return n


def _unlock_signer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="login-unlock")


def unlock_token(secret: str, user: User) -> str:
    """A signed link token that lets the account's owner lift its login delay (sent by e-mail, never shown)."""
    return _unlock_signer(secret).dumps({"u": user.id, "n": user.username.lower()})


def unlock_by_token(session: Session, secret: str, token: str, address: str, max_age: int = 3600) -> User | None:
    """Lift the login delay of the account a valid, fresh unlock token names, from the address that opens the link
    (an attacker's failures elsewhere stay counted); None if the token is bad or old."""
    try:
        data = _unlock_signer(secret).loads(token, max_age=max_age)
    except BadData:
        return None
    user = session.get(User, data.get("u")) if isinstance(data, dict) else None
    if user is None or user.username.lower() != data.get("n"):
        return None
    _forget_failures(session, user, user, "user.unlock_by_email", address)
    return user


def start_session(session: Session, user: User, user_agent: str = "") -> UserSession:
    """Open a login session for the user (the cookie names it) and audit the login."""
    s = UserSession(id=secrets.token_urlsafe(32), user_id=user.id, user_agent=user_agent[:255])
    session.add(s)
    session.flush()
    user.current_session_id = s.id
    audit.record(session, user, "user.login", user)
    return s


# ``load_session_user``'s read, built once (issue 20, fifth round): ``session.get`` with populate_existing built
# its loader options and identity lookup anew on every signed-in request (~230 of a pool page's ~5,900 Python
# calls). The same statement, row, user and region, flushed before and refreshed from the database as ``get`` did.
_SESSION_WITH_USER = (select(UserSession).where(UserSession.id == bindparam("session_id"))
                      .options(joinedload(UserSession.user).joinedload(User.region))
                      .execution_options(populate_existing=True))


def load_session_user(session: Session, session_id: str, idle_seconds: int = 2 * 3600,
                      absolute_seconds: int = 12 * 3600) -> User | None:
    """The user behind a live session id, or None if it ended, idled out (``idle_seconds`` without a request),
    outlived ``absolute_seconds`` since login, or the user is disabled."""
    # One statement for the session row and its user: this runs on every signed-in request.
    # The user's region comes in the same statement (issue 20): every bureau page's scope reads it, lazily a
    # second statement before.
    row = session.execute(_SESSION_WITH_USER, {"session_id": session_id}).scalar()
    if row is None or row.ended_at is not None:
        return None
    now = utcnow()
    if now - row.last_seen_at > dt.timedelta(seconds=idle_seconds):
        return None
    if now - row.created_at > dt.timedelta(seconds=absolute_seconds):
        return None
    user = row.user
    if not user.is_enabled:
        return None
    user.current_session_id = row.id
    # Coarse, so that each request does not write; the caller records it (``touch_session``) outside the
    # request's own transaction.
    user.session_seen_due = now - row.last_seen_at > SEEN_EVERY
    return user


SEEN_EVERY = dt.timedelta(minutes=5)


def live_session_users():
    """``load_session_user``'s rule as SQL, for a hot path that checks the login inside its own statement
    instead of loading the user (issue 20: the exam's autosave): a SELECT of ``(users.id)`` for the session
    ``:session_id`` while it has not ended, was used since ``:seen_after`` and began after ``:created_after``
    (``live_session_params``), of an enabled user. ``users`` is joined, so the caller may add conditions on it."""
    return (select(User.id).select_from(UserSession).join(User, User.id == UserSession.user_id)
            .where(UserSession.id == bindparam("session_id"), UserSession.ended_at.is_(None),
                   UserSession.last_seen_at >= bindparam("seen_after", type_=UTCDateTime()),
                   UserSession.created_at >= bindparam("created_after", type_=UTCDateTime()), User.is_enabled.is_(True)))


def live_session_params(session_id: str, now: dt.datetime, idle_seconds: int, absolute_seconds: int) -> dict:
    """The parameters of ``live_session_users`` for ``now`` and the two time-outs of ``load_session_user``."""
    return {"session_id": session_id, "seen_after": now - dt.timedelta(seconds=idle_seconds),
            "created_after": now - dt.timedelta(seconds=absolute_seconds)}


def touch_session(session: Session, session_id: str, now: dt.datetime) -> None:
    """Record that a login session was used (at most once every ``SEEN_EVERY``)."""
    session.execute(update(UserSession).where(UserSession.id == session_id, UserSession.last_seen_at < now - SEEN_EVERY)
                    .values(last_seen_at=now))


def touch_token(session: Session, token_id: int, now: dt.datetime) -> None:
    """Record that an API token was used (at most once every ``SEEN_EVERY``)."""
    session.execute(update(ApiToken).where(ApiToken.id == token_id, (ApiToken.last_used_at.is_(None)) |
                                           (ApiToken.last_used_at < now - SEEN_EVERY)).values(last_used_at=now))


def end_session(session: Session, session_id: str | None) -> None:
    """End one login session (logout); its cookie stops working."""
    if session_id:
        session.execute(
            update(UserSession)
            .where(UserSession.id == session_id, UserSession.ended_at.is_(None))
            .values(ended_at=utcnow())
        )


def end_all_sessions(session: Session, user: User, except_id: str | None = None) -> None:
    """End every login session of the user, but ``except_id`` (password change, disabling)."""
    stmt = update(UserSession).where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
    if except_id:
        stmt = stmt.where(UserSession.id != except_id)
    session.execute(stmt.values(ended_at=utcnow()))


# ---------------------------------------------------------------- API tokens
def _token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User, name: str) -> tuple[ApiToken, str]:
    """Create a bearer token; returns the record and the clear token, which is never stored."""
    name = (name or "").strip()
    if not name or len(name) > 64:
        raise ValidationFailed({"name": _("请填写令牌名称（不超过 64 字）")})
    if not user.is_enabled:
        raise Forbidden(_("账号已停用"))
    clear = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, name=name, token_hash=_token_digest(clear), prefix=clear[:12])
    session.add(token)
    session.flush()
    audit.record(session, user, "token.create", token)
    return token, clear


def revoke_token(session: Session, user: User, token: ApiToken) -> None:
    """Revoke one of the user's own API tokens (audited)."""
    if token.user_id != user.id:
        raise Forbidden(_("只能撤销自己的令牌"))
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(session, user, "token.revoke", token)


def user_for_token(session: Session, clear: str) -> User | None:
    """The enabled user behind a live bearer token, or None; marks the token's last use as due."""
    token = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == _token_digest(clear)).execution_options(populate_existing=True)
    )
    if token is None or token.revoked_at is not None or not token.user.is_enabled:
        return None
    now = utcnow()
    token.user.token_used_due = token.id if token.last_used_at is None or now - token.last_used_at > SEEN_EVERY else None
    return token.user


def purge_expired(session: Session, keep_days: int = 30) -> dict:
    """Housekeeping: forget login attempts and ended sessions older than ``keep_days``. Idempotent."""
    cutoff = utcnow() - dt.timedelta(days=keep_days)
    a = session.query(LoginAttempt).filter(LoginAttempt.at < cutoff).delete(synchronize_session=False)
    s = (
        session.query(UserSession)
        .filter((UserSession.ended_at < cutoff) | (UserSession.last_seen_at < cutoff))
        .delete(synchronize_session=False)
    )
    return {"login_attempts": a, "sessions": s}
