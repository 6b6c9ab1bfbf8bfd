"""Completion rules: what must hold for an enrolment to earn its certificate.

Each feature contributes the rules it owns (courses: attendance and lessons; exams: the exam passed);
certificates ask ``check`` without importing those features. A rule returns a ``RuleResult`` with a
Chinese label and detail, met or not.

Issuing a class in bulk asks ``check_many`` for a batch of enrolments (issue 20): a rule registered with a
``many`` function answers for the whole batch in a few statements; a rule without one is asked per enrolment.
Both must give the same verdicts (tests compare them).
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
_many: dict[str, Callable[[Session, list], dict[int, RuleResult]]] = {}


def completion_rule(code: str, many: Callable[[Session, list], dict[int, RuleResult]] | None = None) -> Callable:
    """Register ``fn(session, enrollment) -> RuleResult`` under ``code`` (re-registering replaces it), and
    optionally ``many(session, enrollments) -> {enrollment id: RuleResult}``, its batch form."""

    def deco(fn):
        _rules[:] = [(c, f) for c, f in _rules if c != code]
        _rules.append((code, fn))
        if many is None:
            _many.pop(code, None)
        else:
            _many[code] = many
        return fn

    return deco


def check(session: Session, enrollment: Any) -> list[RuleResult]:
    """Every registered rule's verdict for the enrolment, in registration order."""
    return [fn(session, enrollment) for _code, fn in _rules]


def check_many(session: Session, enrollments: list) -> dict[int, list[RuleResult]]:
    """``check`` for a batch of enrolments: {enrollment id: every rule's verdict, in registration order}. Rules
    with a batch form answer once for the batch."""
    out: dict[int, list[RuleResult]] = {e.id: [] for e in enrollments}
    for code, fn in _rules:
        many = _many.get(code)
        verdicts = many(session, enrollments) if many is not None else {e.id: fn(session, e) for e in enrollments}
        for e in enrollments:
            out[e.id].append(verdicts[e.id])
    return out


def is_complete(results: list[RuleResult]) -> bool:
    """Is the enrolment complete: at least one rule applies, and every rule is met?"""
    return bool(results) and all(r.met for r in results)
