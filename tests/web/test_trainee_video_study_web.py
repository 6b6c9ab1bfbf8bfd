"""Issue 17: the video lesson page gives the player a viewing token and the rules; staff see the watched time."""
import io
import re

from courses import services
from lms.db import utcnow
from lms.settingbasis import set_basis
from lms.uploads import store_upload
from tests import courses_support as cs
from tests.conftest import login

MP4_HEAD = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64


def test_trainee_video_page_and_staff_study_report(app, client, db, world, tmp_path):
    klass = cs.training_class(db, world)
    prog = klass.programme
    prog.video_no_skip_ahead, prog.video_check_minutes = True, 5
    course = prog.required_courses[0]
    vid = store_upload(db, world.sysadmin, io.BytesIO(MP4_HEAD), "v.mp4", allowed=("mp4",), max_bytes=2**20,
                       upload_dir=tmp_path)
    les = services.add_lesson(db, world.sysadmin, course, title="视频", kind="video", file=vid)
    services.push_lesson(db, world.staff_nt, klass, les, utcnow())
    user, _e = cs.admitted(db, world, klass, "viewerweb")
    db.commit()
    login(client, "viewerweb")
    html = client.get(f"/courses/lessons/{les.id}").get_data(as_text=True)
    assert re.search(r'data-token="[\w-]{16,}"', html) and 'data-no-skip="1"' in html
    assert 'id="attention-check"' in html and "首次观看不能拖动到尚未看过的位置。" in html
    assert "播放中会随机暂停提问，回答后继续。" in html
    staff = app.test_client()
    login(staff, "nt_staff")
    page = staff.get(f"/courses/lessons/{les.id}")
    assert 'id="study-report"' in page.get_data(as_text=True)
    report = staff.get(f"/courses/lessons/{les.id}/study").get_data(as_text=True)
    assert report.count('class="study-row"') == 1 and "0 / 0" in report
    other = app.test_client()
    login(other, "fj_staff")
    assert other.get(f"/courses/lessons/{les.id}/study").get_data(as_text=True).count('class="study-row"') == 0


def test_journey_video_rules_show_their_basis(app, client, db, world, tmp_path):
    """Issue 17 (remaining 4): each video rule on the lesson page carries its basis (lms.settingbasis): the
    province's recorded one where it set a basis, 示例 where it did not."""
    klass = cs.training_class(db, world)
    prog = klass.programme
    prog.video_done_pct, prog.video_no_skip_ahead, prog.video_check_minutes = 95, True, 5
    set_basis(db, prog, "video_done_pct", "source", "苏质发〔2026〕1号 第五条")
    set_basis(db, prog, "video_no_skip_ahead", "province")
    course = prog.required_courses[0]
    vid = store_upload(db, world.sysadmin, io.BytesIO(MP4_HEAD), "v.mp4", allowed=("mp4",), max_bytes=2**20,
                       upload_dir=tmp_path)
    les = services.add_lesson(db, world.sysadmin, course, title="视频", kind="video", file=vid)
    services.push_lesson(db, world.staff_nt, klass, les, utcnow())
    cs.admitted(db, world, klass, "viewerbasis")
    db.commit()
    login(client, "viewerbasis")
    html = client.get(f"/courses/lessons/{les.id}").get_data(as_text=True)
    basis = dict(re.findall(r'data-basis-of="(\w+)">([^<]*)<', html))
    assert "看满 95% 记为学完" in html and "苏质发〔2026〕1号 第五条" in basis["video_done_pct"]
    assert basis["video_no_skip_ahead"] == "〔本省自定〕"
    assert basis["video_check_minutes"] == "〔示例〕"
