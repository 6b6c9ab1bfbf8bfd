"""Completion rules: what must hold for an enrolment to earn its certificate.

Each feature contributes the rules it owns (courses: attendance and lessons; exams: the exam passed);
certificates ask ``check`` without importing those features. A rule returns a ``RuleResult`` with a
Chinese label and detail, met or not.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class RuleResult:
    code: str  # stable id, e.g. "attendance", "lessons", "exam"
    label: str  # what the rule is, in the current language
    met: bool
    detail: str  # the figures behind it, e.g. "出勤率 85%，要求不低于 80%"


_rules: list[tuple[str, Callable[[Session, Any], RuleResult]]] = []


def completion_rule(code: str) -> Callable:
    """Register ``fn(session, enrollment) -> RuleResult`` under ``code`` (re-registering replaces it)."""

    def deco(fn):
        _rules[:] = [(c, f) for c, f in _rules if c != code]
        _rules.append((code, fn))
        return fn

    return deco


def check(session: Session, enrollment: Any) -> list[RuleResult]:
    """Every registered rule's verdict for the enrolment, in registration order."""
    return [fn(session, enrollment) for _code, fn in _rules]


def is_complete(results: list[RuleResult]) -> bool:
    """Is the enrolment complete: at least one rule applies, and every rule is met?"""
    return bool(results) and all(r.met for r in results)
