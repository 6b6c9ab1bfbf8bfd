"""The one scoping helper. Every listing and every load of a scoped record goes through ``visible`` or
``get_visible``; each feature registers, next to its models, who may see which rows.

An unregistered model is refused rather than shown: forgetting to scope must fail closed.
"""
from __future__ import annotations

from typing import Any, Callable, TypeVar

from sqlalchemy import Select, false, select, true
from sqlalchemy.orm import Session

from lms.errors import NotFound

T = TypeVar("T")
_rules: dict[type, Callable[[Any], Any]] = {}
_denied_hook: list[Callable[[Session, Any, type, Any], None]] = []


def scope_rule(model: type) -> Callable:
    """Register ``fn(user) -> SQL condition`` (or ``True`` for all rows, ``False`` for none) for ``model``."""

    def deco(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
        _rules[model] = fn
        return fn

    return deco


def on_denied(fn: Callable[[Session, Any, type, Any], None]) -> None:
    """Called when a user asks for a record that exists but is outside their scope."""
    _denied_hook.append(fn)


def condition(model: type, user: Any):
    """The SQL condition of the rows of ``model`` that ``user`` may see (FALSE for no one signed in)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return false_()
    rule = _rules.get(model)
    if rule is None:
        raise LookupError(f"no scope rule registered for {model.__name__}")
    cond = rule(user)
    if cond is True:
        return true()
    if cond is False:
        return false_()
    return cond


def false_():
    """SQL's FALSE: no rows."""
    return false()


def visible(model: type[T], user: Any) -> Select:
    """``SELECT model`` narrowed to what ``user`` may see."""
    cond = condition(model, user)
    return select(model).where(cond)


def get_visible(session: Session, model: type[T], pk: Any, user: Any) -> T:
    """Load one record the user may see, or raise NotFound. An existing record outside the user's scope
    raises the same NotFound (nothing is revealed) and is reported to the denied hooks (the audit log)."""
    obj = session.scalar(visible(model, user).where(model.id == pk))  # type: ignore[attr-defined]
    if obj is not None:
        return obj
    if session.get(model, pk) is not None:
        for hook in _denied_hook:
            hook(session, user, model, pk)
    raise NotFound("记录不存在或无权查看")


# --- writes (issue 18): who may CHANGE a record, checked against the record as stored -------------------------
_write_rules: dict[type, Callable[[Any, Any], bool]] = {}


def write_rule(model: type) -> Callable:
    """Register ``fn(user, obj) -> bool``: may ``user`` change ``obj`` as it is stored? A model without a write rule
    is writable by whoever may see it (its scope rule) — services still check roles."""

    def deco(fn: Callable[[Any, Any], bool]) -> Callable[[Any, Any], bool]:
        _write_rules[model] = fn
        return fn

    return deco


def require_writable(session: Session, obj: Any, user: Any) -> Any:
    """Refuse a change to ``obj`` by ``user`` unless its write rule allows it, reading the record as STORED (never the
    submitted form). A refusal is a NotFound (nothing revealed) reported to the denied hooks (``access_denied``)."""
    rule = _write_rules.get(type(obj))
    allowed = rule(user, obj) if rule is not None else True
    if not allowed:
        for hook in _denied_hook:
            hook(session, user, type(obj), obj.id)
        raise NotFound("记录不存在或无权查看")
    return obj


def get_writable(session: Session, model: type[T], pk: Any, user: Any) -> T:
    """Load one record the user may see AND change (``get_visible`` then ``require_writable``), or raise NotFound."""
    return require_writable(session, get_visible(session, model, pk, user), user)


def get_from(session: Session, stmt: Select, model: type[T], pk: Any, user: Any) -> T:
    """Load one record through a read model narrower than the scope rule (``stmt``, a select of ``model``: e.g. a
    trainee's exams through their enrolments), or raise NotFound; an existing record outside it is reported to the
    denied hooks (``access_denied``), as ``get_visible`` does."""
    obj = session.scalar(stmt.where(model.id == pk))  # type: ignore[attr-defined]
    if obj is not None:
        return obj
    if session.get(model, pk) is not None:
        for hook in _denied_hook:
            hook(session, user, model, pk)
    raise NotFound("记录不存在或无权查看")
