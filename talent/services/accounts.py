"""Enterprise accounts (issue 14): a county or city bureau opens one for an enterprise of its region, or the
enterprise registers itself with its unified social credit code and the bureau over it approves (or refuses) the
account before it can sign in. The account registers the enterprise's CQO (``talent.services.appointments``)."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import Session

from lms import audit
from lms.auth import services as auth_services
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, Forbidden, ValidationFailed
from lms.orgs.models import Enterprise
from lms.orgs.services import validate_credit_code


def create_enterprise_account(session: Session, actor: User, enterprise: Enterprise, *, username: str, display_name: str,
                              password: str) -> User:
    """A county or city bureau creates the account an enterprise registers its CQO with (``enterprise`` was loaded
    through the bureau's scope; ``lms.auth.services.create_user`` checks the bureau covers its region)."""
    if actor.role != Role.regulator_admin:
        raise Forbidden(_("只有监管部门可以创建企业账号"))
    return auth_services.create_user(session, username=username, password=password, display_name=display_name,
                                     role=Role.enterprise, enterprise=enterprise, created_by=actor)


def is_pending(user: User) -> bool:
    """A self-registered enterprise account the bureau has not approved yet."""
    return user.role == Role.enterprise and not user.is_enabled and user.created_by_id is None and user.last_login_at is None


def register_enterprise(session: Session, *, credit_code: str, username: str, display_name: str, password: str) -> User:
    """An enterprise registers itself with its unified social credit code: the enterprise must be on the bureaus'
    register and have no account yet; the account waits, disabled, for the bureau's approval."""
    code = validate_credit_code(credit_code)
    enterprise = session.scalar(select(Enterprise).where(Enterprise.credit_code == code))
    if enterprise is None:
        raise ValidationFailed({"credit_code": _("没有登记此统一社会信用代码的企业：请联系所在县（市、区）监管部门登记企业")})
    if session.scalar(select(User.id).where(User.role == Role.enterprise, User.enterprise_id == enterprise.id)):
        raise ValidationFailed({"credit_code": _("该企业已有账号：如遗失请联系所在县（市、区）监管部门")})
    user = auth_services.create_user(session, username=username, password=password, display_name=display_name,
                                     role=Role.enterprise, enterprise=enterprise, created_by=None)
    user.is_enabled = False
    session.flush()
    audit.record(session, None, "enterprise_account.register", user)
    return user


def review_enterprise_account(session: Session, actor: User, user: User, *, approve: bool) -> User | None:
    """The bureau over the enterprise approves a self-registered account (it can sign in) or refuses it (removed)."""
    if actor.role != Role.regulator_admin or not auth_services.can_create(actor, Role.enterprise, user.region, None):
        raise Forbidden(_("只能审核本地区企业的账号"))
    if not is_pending(user):
        raise Conflict(_("该账号不在待审核状态"))
    if approve:
        user.is_enabled = True
        session.flush()
        audit.record(session, actor, "enterprise_account.approve", user)
        return user
    audit.record(session, actor, "enterprise_account.refuse", user)
    session.delete(user)
    session.flush()
    return None
