"""Statistics staff see per exam: the distribution of counting scores as a histogram
(``lms.charts``) and per-question share correct and discrimination index."""
from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup
from sqlalchemy import select
from sqlalchemy.orm import Session

from exams.models import Answer, Attempt, AttemptQuestion, Exam, QuestionType
from lms.charts import histogram

BINS = [(0, 10), (10, 20), (20, 30), (30, 40), (40, 50), (50, 60), (60, 70), (70, 80), (80, 90), (90, 100)]


def distribution(scores: list[float]) -> list[int]:
    """Counts per 10-point band; 100 falls in the last band."""
    counts = [0] * len(BINS)
    for s in scores:
        i = min(int(s // 10), len(BINS) - 1) if s >= 0 else 0
        counts[i] += 1
    return counts


def distribution_svg(counts: list[int], pass_mark: float) -> Markup:
    """The distribution of ``counts`` per 10-point band as a histogram (lms.charts) with the pass mark drawn."""
    return histogram("score-chart", _("成绩分布"), [lo for lo, _hi in BINS] + [BINS[-1][1]], counts,
                     marker=pass_mark, marker_label=_("及格线"), unit=_("分"))


@dataclass
class ItemStat:
    question_id: int
    stem: str
    type: QuestionType
    knowledge_point: str
    answered: int  # papers that carried the question
    share_correct: float | None  # full marks / papers carrying it
    discrimination: float | None  # share correct in the top 27 % minus the bottom 27 %


def item_statistics(session: Session, exam: Exam) -> list[ItemStat]:
    """Per question over the exam's graded attempts: share with full marks and the discrimination index
    D = p(upper 27 %) − p(lower 27 %), groups by attempt score (needs at least 4 attempts, else None)."""
    attempts = list(session.scalars(select(Attempt).where(Attempt.exam_id == exam.id,
                                                          Attempt.grading_complete.is_(True))))
    if not attempts:
        return []
    ranked = sorted(attempts, key=lambda a: a.score or 0.0, reverse=True)
    k = max(1, round(len(ranked) * 0.27)) if len(ranked) >= 4 else 0
    upper = {a.id for a in ranked[:k]}
    lower = {a.id for a in ranked[-k:]} if k else set()
    ids = [a.id for a in attempts]
    rows = session.execute(
        select(AttemptQuestion.question_id, AttemptQuestion.attempt_id, AttemptQuestion.points,
               AttemptQuestion.stem, AttemptQuestion.type, AttemptQuestion.knowledge_point, Answer.points)
        .outerjoin(Answer, Answer.attempt_question_id == AttemptQuestion.id)
        .where(AttemptQuestion.attempt_id.in_(ids)))
    per: dict[int, dict] = {}
    for qid, aid, full, stem, qtype, kp, got in rows:
        d = per.setdefault(qid, {"stem": stem, "type": qtype, "kp": kp, "n": 0, "ok": 0, "u": [0, 0], "l": [0, 0]})
        correct = got is not None and got >= full - 1e-9
        d["n"] += 1
        d["ok"] += correct
        if aid in upper:
            d["u"][0] += 1
            d["u"][1] += correct
        if aid in lower:
            d["l"][0] += 1
            d["l"][1] += correct
    out = []
    for qid, d in per.items():
        disc = None
        if d["u"][0] and d["l"][0]:
            disc = round(d["u"][1] / d["u"][0] - d["l"][1] / d["l"][0], 2)
        out.append(ItemStat(qid, d["stem"], d["type"], d["kp"], d["n"], round(d["ok"] / d["n"], 3) if d["n"] else None, disc))
    out.sort(key=lambda s: (s.share_correct if s.share_correct is not None else 2, s.question_id))
    return out
