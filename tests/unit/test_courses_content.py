"""Courses and lessons: sanitised Markdown, uploads checked by content and size, lesson progress,
programmes as data."""
import io

import pytest
from sqlalchemy import select

from courses import services
from courses.models import LessonKind
from lms.db import utcnow
from lms.domain import Tier
from lms.errors import DomainError, Forbidden, NotFound, ValidationFailed
from lms.uploads import StoredFile, store_upload
from tests import courses_support as cs

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def test_markdown_keeps_formatting_and_drops_scripts_handlers_and_js_links():
    html = services.render_markdown(
        "## 标题\n\n**加粗** [好链接](https://example.cn) [坏链接](javascript:alert(1))\n\n"
        "<script>alert(1)</script><img src=x onerror=alert(1)><p onclick=\"x()\" style=\"color:red\">段落</p>\n\n"
        "| a | b |\n| - | - |\n| 1 | 2 |")
    assert "<h2>标题</h2>" in html and "<strong>加粗</strong>" in html and "<table>" in html
    assert 'href="https://example.cn"' in html and 'rel="noopener noreferrer"' in html
    low = html.lower()
    assert "<script" not in low and "javascript:" not in low and "onerror" not in low and "onclick" not in low
    assert "style=" not in low


def test_upload_over_the_limit_is_refused_before_anything_is_kept(db, world, tmp_path):
    big = io.BytesIO(b"%PDF-1.7\n" + b"0" * (3 * 1024 * 1024))
    with pytest.raises(ValidationFailed) as exc:
        store_upload(db, world.sysadmin, big, "big.pdf", allowed=("pdf",), max_bytes=2 * 1024 * 1024, upload_dir=tmp_path)
    assert "文件过大" in exc.value.errors["file"] and "2 MB" in exc.value.errors["file"]
    assert big.tell() <= 3 * 1024 * 1024  # stopped reading once over the limit (one chunk past it at most)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []
    assert db.scalar(select(StoredFile.id)) is None


def test_an_executable_named_pdf_is_refused(db, world, tmp_path):
    exe = io.BytesIO(b"MZ\x90\x00\x03" + b"\x00" * 500)
    with pytest.raises(ValidationFailed) as exc:
        store_upload(db, world.sysadmin, exe, "讲义.pdf", allowed=("pdf",), max_bytes=20 * 2**20, upload_dir=tmp_path)
    assert "可执行程序" in exc.value.errors["file"]
    html = io.BytesIO(b"<html>not a pdf</html>")
    with pytest.raises(ValidationFailed) as exc:
        store_upload(db, world.sysadmin, html, "x.pdf", allowed=("pdf",), max_bytes=2**20, upload_dir=tmp_path)
    assert "扩展名" in exc.value.errors["file"]
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_a_real_pdf_and_video_are_stored_by_digest(db, world, tmp_path):
    pdf = store_upload(db, world.sysadmin, io.BytesIO(b"%PDF-1.4\n%%EOF"), "讲义.txt", allowed=("pdf",),
                       max_bytes=2**20, upload_dir=tmp_path)
    assert pdf.kind == "pdf" and pdf.mime == "application/pdf" and pdf.path(tmp_path).read_bytes().startswith(b"%PDF")
    vid = store_upload(db, world.sysadmin, io.BytesIO(MP4_HEAD), "v.bin", allowed=("mp4", "webm"), max_bytes=2**20,
                       upload_dir=tmp_path)
    assert vid.kind == "mp4" and vid.relative_path.startswith(vid.sha256[:2] + "/")


def test_lessons_need_the_right_content(db, world, tmp_path):
    c = cs.course(db, world, lessons=0)
    with pytest.raises(ValidationFailed) as exc:
        services.add_lesson(db, world.sysadmin, c, title="", kind="text", body_md="")
    assert set(exc.value.errors) == {"title", "body_md"}
    pdf = store_upload(db, world.sysadmin, io.BytesIO(b"%PDF-1.4"), "a.pdf", allowed=("pdf",), max_bytes=2**20,
                       upload_dir=tmp_path)
    with pytest.raises(ValidationFailed) as exc:
        services.add_lesson(db, world.sysadmin, c, title="视频", kind="video", file=pdf)
    assert "视频" in exc.value.errors["file"]
    les = services.add_lesson(db, world.sysadmin, c, title="讲义", kind="pdf", file=pdf)
    les2 = services.add_lesson(db, world.sysadmin, c, title="正文", kind="text", body_md="内容")
    assert (les.position, les2.position) == (1, 2) and [x.id for x in c.lessons] == [les.id, les2.id]
    with pytest.raises(Forbidden):
        services.add_lesson(db, world.trainee, c, title="x", kind="text", body_md="y")


def test_video_is_not_completed_on_the_pages_word(db, world, tmp_path):
    c = cs.course(db, world, lessons=0)
    vid = store_upload(db, world.sysadmin, io.BytesIO(MP4_HEAD), "v.mp4", allowed=("mp4",), max_bytes=2**20,
                       upload_dir=tmp_path)
    les = services.add_lesson(db, world.sysadmin, c, title="视频", kind="video", file=vid)
    assert les.kind == LessonKind.video
    with pytest.raises(DomainError):  # only the time really watched completes a video (courses.services.study)
        services.record_progress(db, world.trainee, les, utcnow(), completed=True)
    with pytest.raises(Forbidden):
        services.record_progress(db, world.staff_nt, les, utcnow(), completed=True)


def test_programmes_may_share_province_tier_and_year_and_sum_their_hours(db, world):
    prog = cs.programme(db, world)
    assert prog.total_hours == 4 and prog.tier == Tier.basic
    c2 = cs.course(db, world, code="T-EXTRA", hours=2.5)
    data = services.ProgrammeData(province_id=world.jiangsu.id, tier="basic", year=prog.year, name="重复",
                                  pass_mark=60, min_attendance_rate=0.8, certificate_validity_years=3,
                                  requires_lower_tier=False, eligibility_rule_set_id=None, course_ids=[c2.id])
    second = services.save_programme(db, world.sysadmin, data)  # issue 15: one per tier and year no longer
    assert second.id != prog.id and second.year == prog.year
    data.course_ids = [prog.courses[0].id, c2.id]
    services.save_programme(db, world.sysadmin, data, prog)
    assert prog.total_hours == 6.5
    with pytest.raises(NotFound):  # a city admin does not own the province's programme (issue 18)
        services.save_programme(db, world.city_admin, data, prog)
    fj_rs = services.save_rule_set(db, world.sysadmin, world.fujian, "福建规则", [{"conditions": []}])
    data.eligibility_rule_set_id = fj_rs.id
    with pytest.raises(ValidationFailed) as exc:
        services.save_programme(db, world.sysadmin, data, prog)
    assert "同一省份" in exc.value.errors["eligibility_rule_set_id"]
    with pytest.raises(Forbidden):
        services.save_rule_set(db, world.province_admin, world.fujian, "越权", [{"conditions": []}])


def test_lessons_can_be_reordered_and_unopened_ones_deleted(db, world):
    c = cs.course(db, world, lessons=3, owner_institution=world.inst_nt)
    first, second, third = c.lessons
    services.move_lesson(db, world.staff_nt, third, -1)
    assert [les.id for les in c.lessons] == [first.id, third.id, second.id]
    services.move_lesson(db, world.staff_nt, first, -1)  # already first: nothing moves
    assert [les.position for les in c.lessons] == [1, 2, 3]
    services.open_lesson(db, world.trainee, second, utcnow())
    with pytest.raises(DomainError):
        services.delete_lesson(db, world.staff_nt, second)
    services.delete_lesson(db, world.staff_nt, third)
    assert [(les.id, les.position) for les in c.lessons] == [(first.id, 1), (second.id, 2)]
    with pytest.raises(Forbidden):
        services.move_lesson(db, world.trainee, first, 1)
