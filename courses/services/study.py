"""Study time a bureau can trust (学时真实, issue 17), as Chinese continuing-education platforms do it: a video
lesson counts the intervals actually played, reported by the page in heartbeats and checked on the server against
the wall clock — a heartbeat is credited at most twice the time that passed since the viewing's previous heartbeat
and since the trainee's last credited heartbeat on any video (so no reload, second tab or hand-made request
reports more time than passed), and intervals are merged (watching a part twice counts once). The lesson is
completed at the programme's share (default 90 %). A programme may refuse seeking beyond the furthest point
watched (the server refuses such intervals, whatever the page does) and may pause the video at random moments
for an attention check (防挂机) that the trainee answers by typing a number; checks are counted per viewing."""
from __future__ import annotations

import datetime as dt
import random
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from courses.models import (
    ClassLesson, Enrollment, EnrollmentStatus, Lesson, LessonKind, Programme, TrainingClass, VideoWatch,
    WatchSession, programme_courses,
)
from courses.services.content import open_lesson
from lms.auth.models import User
from lms.domain import Role
from lms.errors import Conflict, DomainError, Forbidden, ValidationFailed
from lms.scoping import get_from
from lms.settingbasis import EXAMPLE, basis_label

MAX_SPEED = 2.0  # the fastest playback credited (issue 17: "up to 2× speed")
SEEK_SLACK = 2.0  # seconds past the furthest point a heartbeat may start (a rounding of the player's clock)
DEFAULT_DONE_PCT = 90


@dataclass(frozen=True)
class VideoRules:
    done_pct: int
    no_skip_ahead: bool
    check_minutes: int | None
    # Each rule's basis as the bracketed label (lms.settingbasis), from the programme that sets it; the default
    # share (no programme) is an example (示例).
    bases: tuple[tuple[str, str], ...] = ()

    def basis(self, field: str) -> str:
        """The basis label of ``field`` (video_done_pct, video_no_skip_ahead, video_check_minutes), or ""."""
        return dict(self.bases).get(field, "")


@dataclass(frozen=True)
class BeatResult:
    credited: float
    watched_seconds: float
    share: float
    furthest: float
    completed: bool
    check_code: str | None
    refused: str = ""


def video_rules(session: Session, user: User, lesson: Lesson, *, with_bases: bool = False) -> VideoRules:
    """The rules of the programmes of the trainee's admitted classes that teach this lesson (the strictest of
    them); the defaults when none does. ``with_bases`` (the lesson page, not the heartbeats' hot path) adds each
    rule's basis label."""
    in_class = select(ClassLesson.class_id).where(ClassLesson.lesson_id == lesson.id)
    progs = list(session.scalars(
        select(Programme).join(TrainingClass, TrainingClass.programme_id == Programme.id)
        .join(Enrollment, Enrollment.class_id == TrainingClass.id)
        .join(programme_courses, programme_courses.c.programme_id == Programme.id)
        .where(Enrollment.user_id == user.id, Enrollment.status == EnrollmentStatus.approved,
               programme_courses.c.course_id == lesson.course_id,
               (TrainingClass.lessons_frozen_at.is_(None)) | TrainingClass.id.in_(in_class)).distinct()))
    if not progs:
        return VideoRules(DEFAULT_DONE_PCT, False, None, (("video_done_pct", f"〔{EXAMPLE.text}〕"),))
    minutes = [p.video_check_minutes for p in progs if p.video_check_minutes]
    # The programme whose value is the one applied gives the basis shown beside it.
    deciding = {"video_done_pct": max(progs, key=lambda p: p.video_done_pct),
                "video_no_skip_ahead": next((p for p in progs if p.video_no_skip_ahead), None),
                "video_check_minutes": min((p for p in progs if p.video_check_minutes),
                                           key=lambda p: p.video_check_minutes, default=None)}
    bases = tuple((f, basis_label(session, p, f)) for f, p in deciding.items() if p is not None) if with_bases else ()
    return VideoRules(max(p.video_done_pct for p in progs), any(p.video_no_skip_ahead for p in progs),
                      min(minutes) if minutes else None, bases)


def _merge(intervals: list, start: float, end: float) -> list[list[float]]:
    out: list[list[float]] = []
    for a, b in sorted([*intervals, [start, end]]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return out


def _watch(session: Session, user: User, lesson: Lesson) -> VideoWatch:
    watch = session.scalar(select(VideoWatch).where(VideoWatch.lesson_id == lesson.id, VideoWatch.user_id == user.id))
    if watch is None:
        watch = VideoWatch(lesson_id=lesson.id, user_id=user.id, intervals=[], watched_seconds=0.0, furthest=0.0,
                           duration=0.0)
        session.add(watch)
        session.flush()
    return watch


def _next_check(rules: VideoRules, now: dt.datetime) -> dt.datetime | None:
    if not rules.check_minutes:
        return None
    return now + dt.timedelta(seconds=random.uniform(0.5, 1.5) * rules.check_minutes * 60)


def start_viewing(session: Session, user: User, lesson: Lesson, now: dt.datetime) -> tuple[WatchSession, VideoWatch]:
    """A trainee opens a video lesson: a new viewing (its token goes to the page) and what they watched so far."""
    if user.role != Role.trainee:
        raise Forbidden(_("只有学员的学习进度会被记录"))
    if lesson.kind != LessonKind.video:
        raise DomainError(_("该课时不是视频"))
    open_lesson(session, user, lesson, now)
    rules = video_rules(session, user, lesson)
    viewing = WatchSession(token=secrets.token_urlsafe(16)[:22], lesson_id=lesson.id, user_id=user.id,
                           started_at=now, last_beat_at=now, check_due_at=_next_check(rules, now))
    session.add(viewing)
    watch = _watch(session, user, lesson)
    session.flush()
    return viewing, watch


def _viewing(session: Session, user: User, lesson: Lesson, token: str) -> WatchSession:
    """The user's viewing of the lesson named by ``token``; anything else is refused as not found, and audited
    (a heartbeat without a viewing of one's own is a hand-made request)."""
    tok = str(token or "")[:32]
    get_from(session, select(Lesson).join(WatchSession, WatchSession.lesson_id == Lesson.id)
             .where(WatchSession.token == tok, WatchSession.user_id == user.id), Lesson, lesson.id, user)
    return session.scalar(select(WatchSession).where(WatchSession.token == tok))


def _number(value, field: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValidationFailed({field: _("须为数字")})
    if v != v or v < 0 or v > 24 * 3600:
        raise ValidationFailed({field: _("须在 0 到 86400 秒之间")})
    return v


def heartbeat(session: Session, user: User, lesson: Lesson, token: str, start, end, duration,
              now: dt.datetime) -> BeatResult:
    """Credit the interval [start, end] of the video the page says it played since its last heartbeat: no more
    than ``MAX_SPEED`` × the wall-clock time since this viewing's and this trainee's previous heartbeat, nothing
    while an attention check waits, nothing beyond the furthest point when the programme forbids seeking ahead."""
    viewing = _viewing(session, user, lesson, token)
    start, end, duration = _number(start, "start"), _number(end, "end"), _number(duration, "duration")
    watch = _watch(session, user, lesson)
    rules = video_rules(session, user, lesson)
    if not watch.duration:  # the length is fixed by the first report, and never shorter than the lesson says
        watch.duration = max(duration, max(0, lesson.minutes - 1) * 60)
    end = min(end, watch.duration)
    last_any = session.scalar(select(func.max(WatchSession.last_beat_at)).where(
        WatchSession.user_id == user.id, WatchSession.id != viewing.id)) or viewing.started_at
    since = max(0.0, (now - max(viewing.last_beat_at, min(last_any, now))).total_seconds())
    prog = open_lesson(session, user, lesson, now)
    refused = ""
    if viewing.pending_code is None and viewing.check_due_at is not None and now >= viewing.check_due_at:
        viewing.pending_code, viewing.check_due_at = f"{random.randint(10, 99)}", None
        viewing.checks_asked += 1
    if viewing.pending_code is not None:
        refused = "check"
    elif rules.no_skip_ahead and prog.completed_at is None and start > watch.furthest + SEEK_SLACK:  # first viewing
        refused = "skip"
    credited = 0.0
    if not refused and end > start:
        end = min(end, start + MAX_SPEED * since)
        credited = end - start
        if credited > 0:
            watch.intervals = _merge(watch.intervals or [], round(start, 2), round(end, 2))
            watch.watched_seconds = round(sum(b - a for a, b in watch.intervals), 2)
            watch.furthest = max(watch.furthest, end)
            viewing.credited_seconds += credited
            watch.updated_at = now
    viewing.last_beat_at = now
    share = min(1.0, watch.watched_seconds / watch.duration) if watch.duration else 0.0
    prog.watched_share = max(prog.watched_share or 0.0, round(share, 4))
    if share * 100 >= rules.done_pct and prog.completed_at is None:
        prog.completed_at = now
    session.flush()
    return BeatResult(round(credited, 2), watch.watched_seconds, share, watch.furthest, prog.completed_at is not None,
                      viewing.pending_code, refused)


def answer_check(session: Session, user: User, lesson: Lesson, token: str, code: str, now: dt.datetime) -> WatchSession:
    """The trainee answers the attention check of their viewing by typing the number shown; the video resumes."""
    viewing = _viewing(session, user, lesson, token)
    if viewing.pending_code is None:
        raise Conflict(_("当前没有需要回答的提问"))
    if str(code or "").strip() != viewing.pending_code:
        raise ValidationFailed({"code": _("输入的数字不正确，请输入画面上显示的数字")})
    viewing.pending_code = None
    viewing.checks_passed += 1
    viewing.last_beat_at = now  # the time spent answering is not credited
    viewing.check_due_at = _next_check(video_rules(session, user, lesson), now)
    session.flush()
    return viewing


@dataclass(frozen=True)
class StudyRow:
    user: User
    watched_seconds: float
    share: float
    viewings: int
    checks_asked: int
    checks_passed: int


def study_report(session: Session, watches) -> list[StudyRow]:
    """Per trainee of ``watches`` (a scoped select of VideoWatch): the time really watched, the share, and the
    viewings and attention checks (asked, answered) of the lesson."""
    rows = []
    for w in session.scalars(watches.order_by(VideoWatch.user_id)):
        stats = session.execute(select(func.count(WatchSession.id), func.coalesce(func.sum(WatchSession.checks_asked), 0),
                                       func.coalesce(func.sum(WatchSession.checks_passed), 0))
                                .where(WatchSession.lesson_id == w.lesson_id, WatchSession.user_id == w.user_id)).one()
        rows.append(StudyRow(w.user, w.watched_seconds, min(1.0, w.watched_seconds / w.duration) if w.duration else 0.0,
                             stats[0], int(stats[1]), int(stats[2])))
    return rows


def complete_for_demo(session: Session, user: User, lesson: Lesson, now: dt.datetime) -> None:
    """Demo data only: a video watched through once, as its heartbeats would have left it."""
    watch = _watch(session, user, lesson)
    length = max(60.0, lesson.minutes * 60.0)
    watch.duration, watch.intervals, watch.watched_seconds, watch.furthest = length, [[0.0, length]], length, length
    prog = open_lesson(session, user, lesson, now)
    prog.watched_share, prog.completed_at = 1.0, prog.completed_at or now
    session.flush()
