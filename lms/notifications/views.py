"""The user's in-app notifications."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from flask_wtf import FlaskForm

from lms.db import db
from lms.notifications import services
from lms.notifications.models import Notification
from lms.scoping import visible
from lms.templating import paginate

bp = Blueprint("notifications", __name__, url_prefix="/notifications")


def nav(user):
    """The notifications page in everyone's menu (added by the factory)."""
    return [("notifications.index", _("消息"))]


def home_panel(session, user):
    """The unread count on the home page (added by the factory)."""
    n = services.unread_count(session, user.id)
    if not n:
        return []
    return [{"title": _("未读消息"), "items": [_("您有 %(n)d 条未读消息", n=n)], "url": url_for("notifications.index")}]


@bp.route("/")
@login_required
def index():
    """The user's notifications, newest first."""
    stmt = visible(Notification, current_user).order_by(Notification.created_at.desc(), Notification.id.desc())
    return render_template("notifications/index.html", page=paginate(db.session, stmt), form=FlaskForm())


@bp.route("/read", methods=["POST"])
@login_required
def read_all():
    """Mark all of the user's notifications read."""
    if FlaskForm().validate_on_submit():
        services.mark_read(db.session, current_user)
        db.session.commit()
    return redirect(url_for("notifications.index"))
