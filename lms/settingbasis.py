"""The basis of a province's settings (issue 15): every value a province sets (a programme's pass mark, its
attendance share, a course's hours, the key industries, a due date…) carries where it comes from — a
document and clause (依据), the province's own choice (本省自定) or an example (示例) — and pages show it next
to the value, through the one macro ``setting(obj, field)`` of ``_macros.html``.

Features register the fields that are settings (``register_setting``) in their wiring; a value with no
recorded basis is an example (示例): nothing is presented as a province's rule without saying why."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from flask import g, has_request_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import String, UniqueConstraint, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from lms.db import Base, UTCDateTime, db, utcnow
from lms.domain import LabelledEnum, enum_column_type
from lms.errors import ValidationFailed
from lms.scoping import scope_rule


class BasisKind(LabelledEnum):
    source = "source"
    province = "province"
    example = "example"

    @classmethod
    def _labels(cls):
        return {"source": _l("依据"), "province": _l("本省自定"), "example": _l("示例")}


class SettingBasis(Base):
    """Where one setting of one record comes from: ``subject`` is ``<table>:<id>``, ``field`` the column."""

    __tablename__ = "setting_bases"
    __table_args__ = (UniqueConstraint("subject", "field"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subject: Mapped[str] = mapped_column(String(64), index=True)
    field: Mapped[str] = mapped_column(String(64))
    kind: Mapped[BasisKind] = mapped_column(enum_column_type(BasisKind))
    source: Mapped[str] = mapped_column(String(300), default="")  # document and clause, when kind is source
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


@scope_rule(SettingBasis)
def _scope(user):
    return True  # the basis of a published rule is public, like the rule itself


@dataclass(frozen=True)
class Setting:
    """A field that is a province setting: how to show its value, and (for a derived value) which record's
    field the value actually comes from."""

    table: str
    field: str
    label: Any
    show: Callable[[Any], str]
    origin: Callable[[Any], tuple[Any, str] | None] | None = None  # → (record, field) holding it, None: default
    empty: Any = None  # what an unset value (None) means, shown instead of "—" (e.g. no validity: 长期有效)
    default: "Basis | None" = None  # the basis of the default value of a record not yet saved (None: 示例)


@dataclass(frozen=True)
class Basis:
    kind: BasisKind
    source: str = ""

    @property
    def text(self) -> str:
        """The label printed next to the value."""
        if self.kind is BasisKind.source and self.source:
            return _("依据：%(s)s", s=self.source)
        return self.kind.label


EXAMPLE = Basis(BasisKind.example)
_settings: dict[tuple[str, str], Setting] = {}


def register_setting(table: str, field: str, label, show: Callable[[Any], str] = lambda v: "%g" % v if isinstance(v, (int, float)) else str(v),
                     origin: Callable[[Any], tuple[Any, str] | None] | None = None, empty: Any = None,
                     default: "Basis | None" = None) -> None:
    """Declare ``table.field`` a province setting (idempotent: wiring may run once per app); ``default`` is the
    basis of the value a province has not saved yet (a seed's clause), where there is one."""
    _settings[(table, field)] = Setting(table, field, label, show, origin, empty, default)


def registered_settings() -> list[Setting]:
    """Every registered setting (the pages' check walks them)."""
    return list(_settings.values())


def subject_of(obj) -> str:
    """The key of a record in ``setting_bases``."""
    return f"{obj.__tablename__}:{obj.id}"


def _bases_of(session: Session, subject: str) -> dict[str, Basis]:
    cache = g.setdefault("_setting_bases", {}) if has_request_context() else {}
    if subject not in cache:
        rows = session.scalars(select(SettingBasis).where(SettingBasis.subject == subject))
        cache[subject] = {r.field: Basis(r.kind, r.source) for r in rows}
    return cache[subject]


def basis_of(session: Session, obj, field: str) -> Basis:
    """The basis of ``obj.field``; a value nobody gave a basis for is an example (示例)."""
    setting = _settings.get((obj.__tablename__, field))
    if setting is not None and setting.origin is not None:
        held = setting.origin(obj)
        if held is None:
            return EXAMPLE
        obj, field = held
    if obj is None or getattr(obj, "id", None) is None:
        return setting.default if setting is not None and setting.default is not None and obj is not None else EXAMPLE
    return _bases_of(session, subject_of(obj)).get(field, EXAMPLE)


def set_basis(session: Session, obj, field: str, kind: BasisKind | str, source: str = "") -> SettingBasis | None:
    """Record where ``obj.field`` comes from; a document basis must name the document (and clause)."""
    kind = BasisKind(kind)
    source = (source or "").strip()
    if (obj.__tablename__, field) not in _settings:
        raise ValidationFailed({"field": _("“%(f)s”不是可设置的省级参数", f=f"{obj.__tablename__}.{field}")})
    if kind is BasisKind.source and not source:
        raise ValidationFailed({"basis_source": _("选择“依据”时须填写文件名称及条款")})
    if len(source) > 300:
        raise ValidationFailed({"basis_source": _("依据不能超过 300 个字")})
    subject = subject_of(obj)
    row = session.scalar(select(SettingBasis).where(SettingBasis.subject == subject, SettingBasis.field == field))
    if kind is BasisKind.example:  # the default: no row (a value nobody gave a basis for is an example)
        if row is not None:
            session.delete(row)
        row = None
    else:
        if row is None:
            row = SettingBasis(subject=subject, field=field)
            session.add(row)
        row.kind, row.source = kind, source if kind is BasisKind.source else ""
    session.flush()
    if has_request_context():
        g.pop("_setting_bases", None)
    return row


@dataclass(frozen=True)
class SettingView:
    key: str
    text: str
    basis: Basis


def setting_view(session: Session, obj, field: str) -> SettingView:
    """What the ``setting`` macro prints: the value, shown the setting's way, and its basis."""
    setting = _settings.get((getattr(obj, "__tablename__", ""), field))
    if setting is None:
        raise KeyError(f"{field} of {obj!r} is not a registered setting")
    value = getattr(obj, field)
    text = "—" if value is None or value == [] or value == "" else setting.show(value)
    if value is None and setting.empty is not None:
        text = str(setting.empty)
    return SettingView(f"{setting.table}.{field}", text, basis_of(session, obj, field))


def init_app(app) -> None:
    """Make ``setting_view`` available to the ``setting`` macro."""
    app.jinja_env.globals["setting_view"] = lambda obj, field: setting_view(db.session, obj, field)


def basis_label(session: Session, obj, field: str) -> str:
    """The basis as the bracketed label the macro prints, for values told in a sentence (a completion
    rule's detail, a home panel's line) rather than a page's table."""
    return f"〔{basis_of(session, obj, field).text}〕"


BASIS_SCHEMA = {"type": "object", "description": "数值的依据：source（依据文件及条款）、province（本省自定）、example（示例）",
                "properties": {"kind": {"type": "string", "enum": [k.value for k in BasisKind]},
                               "source": {"type": "string"}}}


def basis_json(session: Session, obj, field: str) -> dict:
    """The basis as the API gives it next to the value."""
    basis = basis_of(session, obj, field)
    return {"kind": basis.kind.value, "source": basis.source}
