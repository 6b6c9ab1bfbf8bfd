"""Gates on a class: conditions other packages impose before a class may enrol trainees or issue
certificates (the regulator's filing, the province's rule to hold certificates until the results report is
accepted). Courses and certificates ask ``check``; the package that owns a condition registers it, so courses
never imports it."""
from __future__ import annotations

from typing import Any, Callable

from sqlalchemy.orm import Session

from lms.errors import Conflict

ENROL = "enrol"  # applying to, or being admitted to, a class
CERTIFY = "certify"  # issuing a certificate of the class

_gates: list[tuple[str, Callable[[Session, Any, str], str | None]]] = []


def register_class_gate(name: str) -> Callable:
    """Register ``fn(session, klass, action) -> message or None`` under ``name`` (re-registering replaces it).
    A message (Chinese, for the person acting) refuses the action."""

    def deco(fn):
        _gates[:] = [(n, f) for n, f in _gates if n != name]
        _gates.append((name, fn))
        return fn

    return deco


def refusal(session: Session, klass, action: str) -> str | None:
    """The first gate's refusal of ``action`` for the class, or None when every gate lets it through."""
    for _name, fn in _gates:
        msg = fn(session, klass, action)
        if msg:
            return msg
    return None


def check(session: Session, klass, action: str) -> None:
    """Raise ``Conflict`` (a ``DomainError``; 409 on the API: the request is well formed, the class's state
    refuses it) with the gate's message when ``action`` is refused for the class."""
    msg = refusal(session, klass, action)
    if msg:
        raise Conflict(msg)


_recorders: list[Callable[[Session, Any, str], None]] = []


def register_filing_recorder(fn: Callable[[Session, Any, str], None]) -> Callable:
    """The package that owns filing registers ``fn(session, klass, note)`` that records a class as filed and
    accepted outside the review (demo data; classes filed on paper before the system)."""
    _recorders[:] = [f for f in _recorders if f.__qualname__ != fn.__qualname__ or f.__module__ != fn.__module__]
    _recorders.append(fn)
    return fn


def record_filed(session: Session, klass, note: str = "") -> None:
    """Record the class as filed and accepted (no-op when no package owns filing)."""
    for fn in _recorders:
        fn(session, klass, note)


_listing: list[Callable[[], Any]] = []


def register_enrollable_condition(fn: Callable[[], Any]) -> Callable:
    """``fn() -> SQL condition on TrainingClass`` that a class must meet to be offered to trainees (the SQL
    form of the ENROL gate, so lists need not check classes one by one)."""
    _listing[:] = [f for f in _listing if f.__qualname__ != fn.__qualname__ or f.__module__ != fn.__module__]
    _listing.append(fn)
    return fn


def enrollable_conditions() -> list:
    """The SQL conditions every registered owner imposes on a class offered to trainees."""
    return [fn() for fn in _listing]
