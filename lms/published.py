"""Published texts: the integrity pledge (质量诚信承诺书), the privacy notice and the user agreement, as versioned
documents a system administrator publishes at ``/admin/texts``. A published version is never edited: a change
is a new version. Every acceptance records the version accepted (``TextAcceptance``; the pledge's signatures,
``lms.people.models.PledgeSignature``, already do). Publishing a pledge also writes the ``PledgeText`` that
registration offers, so ``/register`` works once a pledge is published.
"""
from __future__ import annotations

import datetime as dt
import hashlib

from flask import Blueprint, abort, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import ForeignKey, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column
from wtforms import SelectField, StringField, TextAreaField

from lms import audit
from lms.auth.models import User
from lms.auth.views import roles_required
from lms.db import Base, UTCDateTime, db, utcnow
from lms.domain import Role
from lms.errors import ValidationFailed
from lms.forms import choices, length, required, submit
from lms.people.models import PledgeText
from lms.scoping import scope_rule
from lms.templating import add_nav

PLEDGE, PRIVACY, AGREEMENT = "pledge", "privacy", "agreement"
KINDS = {PLEDGE: _l("质量诚信承诺书"), PRIVACY: _l("隐私政策"), AGREEMENT: _l("用户协议")}


class PublishedText(Base):
    """One published version of a text. Never updated: a new wording is a new version."""

    __tablename__ = "published_texts"
    __table_args__ = (UniqueConstraint("kind", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(128))
    body: Mapped[str] = mapped_column(Text)
    published_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    published_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.body.encode()).hexdigest()


class TextAcceptance(Base):
    """A user accepted one version of a text (at registration, or later when a new version asks for it)."""

    __tablename__ = "text_acceptances"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    version: Mapped[str] = mapped_column(String(32))
    text_sha256: Mapped[str] = mapped_column(String(64))
    context: Mapped[str] = mapped_column(String(32), default="registration")
    accepted_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


@scope_rule(PublishedText)
def _published_scope(user):
    return True  # public texts


@scope_rule(TextAcceptance)
def _acceptance_scope(user):
    if user.role == Role.system_admin:
        return True
    return TextAcceptance.user_id == user.id


def current(session: Session, kind: str) -> PublishedText | None:
    return session.scalar(select(PublishedText).where(PublishedText.kind == kind)
                          .order_by(PublishedText.published_at.desc(), PublishedText.id.desc()).limit(1))


def publish(session: Session, actor: User | None, kind: str, version: str, title: str, body: str) -> PublishedText:
    """Publish a new version of a text (flushes). The pledge's version is also offered at registration."""
    version, title, body = version.strip(), title.strip(), body.strip()
    errors = {}
    if kind not in KINDS:
        errors["kind"] = _("文本类型无效")
    if not version:
        errors["version"] = _("请填写版本号")
    elif session.scalar(select(PublishedText.id).where(PublishedText.kind == kind, PublishedText.version == version)) \
            or (kind == PLEDGE and session.get(PledgeText, version) is not None):
        errors["version"] = _("该版本号已发布过，请使用新的版本号")
    if not title:
        errors["title"] = _("请填写标题")
    if not body:
        errors["body"] = _("请填写正文")
    if errors:
        raise ValidationFailed(errors)
    text = PublishedText(kind=kind, version=version, title=title, body=body,
                         published_by_id=actor.id if actor else None)
    session.add(text)
    if kind == PLEDGE:
        session.add(PledgeText(version=version, title=title, body=body, published_at=text.published_at or utcnow()))
    session.flush()
    audit.record(session, actor, "text.publish", text, kind=kind, version=version)
    return text


def accept(session: Session, user: User, kind: str, context: str = "registration") -> TextAcceptance | None:
    """Record that ``user`` accepted the current version of ``kind`` (None if none is published)."""
    text = current(session, kind)
    if text is None:
        return None
    row = TextAcceptance(user_id=user.id, kind=kind, version=text.version, text_sha256=text.sha256, context=context)
    session.add(row)
    session.flush()
    return row


class PublishForm(FlaskForm):
    kind = SelectField(_l("文本"), choices=lambda: choices(KINDS.items()), validators=[required()])
    version = StringField(_l("版本号"), validators=[required(), length(32)])
    title = StringField(_l("标题"), validators=[required(), length(128)])
    body = TextAreaField(_l("正文"), validators=[required()])


bp = Blueprint("published", __name__)


@add_nav
def _nav(user):
    return [("published.index", _("发布文本"))] if user.role == Role.system_admin else []


@bp.route("/admin/texts", methods=["GET", "POST"])
@roles_required(Role.system_admin)
def index():
    form = PublishForm()
    if form.validate_on_submit():
        done = submit(form, lambda: publish(db.session, current_user, form.kind.data, form.version.data,
                                            form.title.data, form.body.data),
                      success=_("已发布"), redirect_to=url_for("published.index"))
        if done is not None:
            return done
    texts = db.session.scalars(select(PublishedText).order_by(PublishedText.kind, PublishedText.published_at.desc(),
                                                              PublishedText.id.desc())).all()
    currents = {k: current(db.session, k) for k in KINDS}
    return render_template("published/index.html", form=form, texts=texts, currents=currents, kinds=KINDS)


@bp.route("/texts/<kind>")
def public_text(kind: str):
    text = current(db.session, kind) if kind in KINDS else None
    if text is None:
        abort(404)
    return render_template("published/show.html", text=text)


def init_app(app) -> None:
    app.register_blueprint(bp)
