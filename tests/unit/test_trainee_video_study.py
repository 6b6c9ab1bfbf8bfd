"""Issue 17: study time a bureau can trust — the server credits the intervals a video really played, checked
against the wall clock (up to 2× speed, across reloads and tabs), merges them, completes at the programme's share,
refuses seeking ahead when the programme says so, and pauses for attention checks counted per viewing."""
from __future__ import annotations

import datetime as dt
import io

import pytest
from sqlalchemy import select

from courses import services
from courses.models import LessonProgress, VideoWatch
from lms.errors import NotFound, ValidationFailed
from lms.scoping import visible
from lms.uploads import store_upload
from tests import courses_support as cs

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64
T0 = dt.datetime(2026, 11, 22, 1, 0, tzinfo=dt.timezone.utc)


def _at(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)


@pytest.fixture
def video(db, world, tmp_path):
    """A 20-second video lesson in the programme of a class the trainee is admitted to; returns (lesson, trainee,
    programme)."""
    klass = cs.training_class(db, world)
    course = klass.programme.required_courses[0]
    vid = store_upload(db, world.sysadmin, io.BytesIO(MP4_HEAD), "v.mp4", allowed=("mp4",), max_bytes=2**20,
                       upload_dir=tmp_path)
    les = services.add_lesson(db, world.sysadmin, course, title="视频", kind="video", file=vid)
    services.push_lesson(db, world.staff_nt, klass, les, T0)
    user, _e = cs.admitted(db, world, klass, "viewer1")
    return les, user, klass.programme


def _progress(db, les, user) -> LessonProgress:
    return db.scalar(select(LessonProgress).where(LessonProgress.lesson_id == les.id, LessonProgress.user_id == user.id))


def test_trainee_video_seek_to_the_end_is_not_watching_it(db, video):
    les, user, _prog = video
    viewing, _w = services.start_viewing(db, user, les, T0)
    r = services.heartbeat(db, user, les, viewing.token, 0, 0.8, 20, _at(1))  # 0.8 s played
    assert r.credited == 0.8 and not r.completed
    r = services.heartbeat(db, user, les, viewing.token, 18, 20, 20, _at(2))  # seek to 18 s, play to the end
    assert r.credited == 2 and r.watched_seconds == 2.8 and not r.completed  # the bug of issue 17: was 100 %
    assert round(_progress(db, les, user).watched_share, 2) == 0.14


def test_trainee_video_credit_never_exceeds_twice_the_clock_and_merges_repeats(db, video):
    les, user, _prog = video
    viewing, _w = services.start_viewing(db, user, les, T0)
    assert services.heartbeat(db, user, les, viewing.token, 0, 10, 20, _at(2)).credited == 4  # 2 s → at most 4 s
    r = services.heartbeat(db, user, les, viewing.token, 0, 8, 20, _at(12))  # watched again: counted once
    assert r.watched_seconds == 8
    other, _w = services.start_viewing(db, user, les, _at(12))  # a second tab (or a reload) adds no clock
    assert services.heartbeat(db, user, les, other.token, 8, 18, 20, _at(12.5)).credited == 1
    r = services.heartbeat(db, user, les, viewing.token, 9, 19, 20, _at(20))
    assert r.credited == 10 and r.watched_seconds == 19 and r.completed  # 95 % ≥ 90 %
    assert _progress(db, les, user).completed_at == _at(20)


def test_trainee_video_no_skip_ahead_and_attention_checks(db, world, video):
    les, user, prog = video
    prog.video_no_skip_ahead, prog.video_check_minutes, prog.video_done_pct = True, 1, 100
    db.flush()
    viewing, _w = services.start_viewing(db, user, les, T0)
    assert services.heartbeat(db, user, les, viewing.token, 0, 5, 20, _at(5)).credited == 5
    r = services.heartbeat(db, user, les, viewing.token, 15, 20, 20, _at(10))  # jumped past the furthest point
    assert r.refused == "skip" and r.credited == 0 and r.furthest == 5
    r = services.heartbeat(db, user, les, viewing.token, 5, 10, 20, _at(100))  # a check is due by now (≤ 90 s)
    assert r.refused == "check" and r.check_code and r.credited == 0
    with pytest.raises(ValidationFailed):
        services.answer_check(db, user, les, viewing.token, "x", _at(101))
    services.answer_check(db, user, les, viewing.token, r.check_code, _at(102))
    assert services.heartbeat(db, user, les, viewing.token, 5, 10, 20, _at(107)).credited == 5
    assert (viewing.checks_asked, viewing.checks_passed) == (1, 1)
    [row] = services.study_report(db, visible(VideoWatch, world.staff_nt).where(VideoWatch.lesson_id == les.id))
    assert (row.user.id, row.watched_seconds, row.viewings, row.checks_asked, row.checks_passed) == (user.id, 10, 1, 1, 1)
    assert services.study_report(db, visible(VideoWatch, world.staff_fj).where(VideoWatch.lesson_id == les.id)) == []


def test_trainee_video_heartbeats_of_someone_else_or_nonsense_are_refused(db, world, video):
    les, user, _prog = video
    viewing, _w = services.start_viewing(db, user, les, T0)
    with pytest.raises(NotFound):
        services.heartbeat(db, world.trainee, les, viewing.token, 0, 1, 20, _at(1))
    with pytest.raises(ValidationFailed):
        services.heartbeat(db, user, les, viewing.token, "a", 1, 20, _at(1))
