"""Login, logout, password change and the user's own API tokens."""
from __future__ import annotations

from functools import wraps

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import func, select

from lms.auth import services
from lms.auth.forms import EmptyForm, LoginForm, PasswordChangeForm, TokenForm
from lms.auth.models import ApiToken, User
from lms.db import db, utcnow
from lms.domain import Role
from lms.errors import DomainError
from lms.forms import submit
from lms.notifications.services import notify
from lms.scoping import get_visible, visible
from lms.redirects import safe_target

bp = Blueprint("auth", __name__, url_prefix="/auth")


def roles_required(*roles: Role):
    """Refuse (403) a logged-in user whose role is not among ``roles``; anonymous users go to login."""

    def deco(view):
        @wraps(view)
        @login_required
        def wrapper(*args, **kwargs):
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapper

    return deco


def init_login(app, login_manager) -> None:
    """Flask-Login: the cookie names a server-side login session, loaded (and its last use noted) per request."""
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None
    login_manager.session_protection = "basic"

    @login_manager.user_loader
    def _load(session_id: str):
        user = services.load_session_user(db.session, session_id, app.config["SESSION_IDLE_SECONDS"],
                                          app.config["SESSION_ABSOLUTE_SECONDS"])
        if user is not None and user.session_seen_due:
            now = utcnow()
            db.defer_write(lambda s: services.touch_session(s, session_id, now))
        return user


def client_address() -> str:
    """The client's address as throttling counts it (behind ``TRUSTED_PROXIES``, the visitor's)."""
    return (request.remote_addr or "unknown")[:64]


@bp.route("/login", methods=["GET", "POST"])
def login():
    """Sign in; failures are counted per account and per address and throttled (429)."""
    if current_user.is_authenticated:
        return redirect(url_for("core.home"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        # Not lms.forms.submit: a failed login is committed (throttling counts it) and a throttled one answers 429.
        try:
            user = _authenticate(form)
        except services.Throttled as exc:
            form.form_errors.append(exc.message)
            status = 429
            _offer_unlock(form.username.data)
        except DomainError as exc:
            db.session.commit()  # keep the failed attempt: it is what throttling counts
            form.form_errors.append(exc.message)
        else:
            session.clear()
            services.start_session(db.session, user, request.user_agent.string or "")
            db.session.commit()
            login_user(user)
            return redirect(safe_target(request.args.get("next")) or url_for("core.home"))
    return render_template("auth/login.html", form=form), status


def _offer_unlock(username: str) -> None:
    """Tell a delayed account's owner (in-app, and by e-mail where an address is known) how to lift the delay at
    once: a signed link valid for an hour, at most one message an hour."""
    user = db.session.scalar(select(User).where(func.lower(User.username) == (username or "").strip().lower()))
    if user is None:
        return
    link = url_for("auth.public_unlock", token=services.unlock_token(current_app.config["SECRET_KEY"], user), _external=True)
    notify(db.session, user.id, "security", _("您的账号登录失败次数过多"),
           _("如果是您本人，打开以下链接即可立即解除登录限制（1 小时内有效）：%(link)s 如果不是您本人，请修改密码。",
             link=link), dedupe_key=f"login-unlock:{utcnow():%Y%m%d%H}")
    db.session.commit()


@bp.route("/unlock/<token>", methods=["GET", "POST"])
def public_unlock(token: str):
    """The e-mailed link: lift one's own login delay (a POST, so that a link preview does not do it)."""
    form = EmptyForm()
    if form.validate_on_submit():
        user = services.unlock_by_token(db.session, current_app.config["SECRET_KEY"], token, client_address())
        if user is None:
            abort(404)
        db.session.commit()
        flash(_("已解除登录限制，请重新登录"), "success")
        return redirect(url_for("auth.login"))
    return render_template("auth/unlock.html", form=form)


def _authenticate(form: LoginForm):
    cfg = current_app.config
    return services.authenticate(
        db.session, form.username.data, form.password.data, client_address(),
        window=cfg["LOGIN_WINDOW_SECONDS"],
        free_failures=cfg["LOGIN_FREE_FAILURES"],
        max_per_address=cfg["LOGIN_MAX_FAILURES_PER_ADDRESS"],
        max_delay=cfg["LOGIN_MAX_DELAY_SECONDS"],
    )


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    """End this login session: the cookie stops working even if replayed."""
    services.end_session(db.session, current_user.get_id())
    db.session.commit()
    logout_user()
    session.clear()
    flash(_("您已安全退出"), "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def password():
    """Change one's password; every other session of the account ends."""
    form = PasswordChangeForm()
    if form.validate_on_submit():
        done = submit(form, lambda: services.change_password(db.session, current_user, form.current_password.data,
                                                             form.new_password.data, current_user.get_id()),
                      success=_("密码已修改，其他设备上的登录已退出"), redirect_to=url_for("core.home"))
        if done:
            return done
    return render_template("auth/password.html", form=form)


@bp.route("/tokens", methods=["GET", "POST"])
@login_required
def tokens():
    """One's API tokens; a new token is shown once, on this page, and only its hash is kept."""
    form = TokenForm()
    new_token = None
    if form.validate_on_submit():
        created: list[tuple[ApiToken, str]] = []
        submit(form, lambda: created.append(services.create_token(db.session, current_user, form.name.data)))
        if created:
            new_token = created[0][1]
            form = TokenForm(formdata=None)
    rows = db.session.scalars(visible(ApiToken, current_user).order_by(ApiToken.created_at.desc())).all()
    return render_template("auth/tokens.html", form=form, tokens=rows, new_token=new_token)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id: int):
    """Revoke one of one's API tokens."""
    token = get_visible(db.session, ApiToken, token_id, current_user)
    back = url_for("auth.tokens")
    return submit(None, lambda: services.revoke_token(db.session, current_user, token),
                  success=_("令牌已撤销"), redirect_to=back) or redirect(back)
