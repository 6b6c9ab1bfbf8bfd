"""Exam pages over HTTP: staff build and run exams, trainees sit them with and without script, and
nobody reaches what is not theirs."""
import io
import json
import re

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select

from exams import attempts
from exams.models import Answer, Attempt, AttemptStatus, Exam, ExamResult, ExamStatus, Question
from lms.auth.services import create_token
from tests import exam_factories as f
from tests.conftest import csrf_token, login, post_form


@pytest.fixture
def setup(db, world):
    prog = f.make_programme(db, world.jiangsu)
    cls = f.make_class(db, world.inst_nt, prog)
    f.enrol(db, cls, world.trainee)
    bank = f.make_bank(db, world.staff_nt)
    exam = f.make_exam(db, world.staff_nt, cls, bank, opens_at=attempts.utcnow() - f.dt.timedelta(hours=1),
                       closes_at=attempts.utcnow() + f.dt.timedelta(days=1))
    db.commit()
    return cls, bank, exam


def test_staff_pages_render_and_bank_import_errors_name_row_and_column(login_as, db, setup):
    cls, bank, exam = setup
    c = login_as("nt_staff")
    for url in ("/exams/banks", f"/exams/banks/{bank.id}?type=single&q=质量", "/exams/manage", f"/exams/manage/{exam.id}",
                f"/exams/manage/{exam.id}/results", f"/exams/manage/{exam.id}/offline", "/exams/grading", "/home",
                f"/exams/banks/{bank.id}/questions/new", "/exams/manage/new"):
        resp = c.get(url)
        assert resp.status_code == 200, url
        assert "style=" not in resp.get_data(as_text=True) and "<script>" not in resp.get_data(as_text=True)
    assert c.get(f"/exams/banks/{bank.id}/export.xlsx").data[:2] == b"PK"
    wb = Workbook()
    wb.active.append(["题型", "题干", "选项A", "选项B", "选项C", "选项D", "选项E", "选项F", "正确答案", "知识点", "难度", "解析"])
    wb.active.append(["单选题", "题干", "甲", "乙", "", "", "", "", "C", "品牌管理", "易", ""])
    buf = io.BytesIO()
    wb.save(buf)
    before = db.scalar(select(func.count(Question.id)))
    resp = c.post(f"/exams/banks/{bank.id}/import", data={"csrf_token": csrf_token(c, f"/exams/banks/{bank.id}"),
                  "file": (io.BytesIO(buf.getvalue()), "q.xlsx")}, content_type="multipart/form-data", follow_redirects=True)
    html = resp.get_data(as_text=True)
    assert "第 2 行「正确答案」列（I 列）" in html
    assert db.scalar(select(func.count(Question.id))) == before


def test_staff_builds_an_exam_from_a_blueprint(login_as, db, setup):
    cls, bank, _ = setup
    c = login_as("nt_staff")
    resp = post_form(c, "/exams/manage/new", {"title": "结业考试", "class_id": cls.id, "opens_at": "2026-12-01T09:00",
                                             "closes_at": "2026-12-01T08:00", "duration_minutes": 60, "attempts_allowed": 2,
                                             "counting": "highest", "multiple_scoring": "partial", "review_policy": "after_close"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and "截止时间」须晚于开放时间" in html
    resp = post_form(c, "/exams/manage/new", {"title": "结业考试", "class_id": cls.id, "opens_at": "2026-12-01T09:00",
                                             "closes_at": "2026-12-01T11:00", "duration_minutes": 60, "attempts_allowed": 2,
                                             "counting": "highest", "multiple_scoring": "partial", "review_policy": "after_close",
                                             "shuffle": "y", "counts_for_completion": "y"})
    assert resp.status_code == 302
    exam = db.scalar(select(Exam).where(Exam.title == "结业考试"))
    assert exam.opens_at.hour == 1  # 09:00 Beijing time is 01:00 UTC
    url = f"/exams/manage/{exam.id}"
    resp = post_form(c, url, {"bank_id": bank.id, "question_type": "single", "count": 99, "points_each": 5})
    assert "现有 6 道" in resp.get_data(as_text=True)
    assert post_form(c, url, {"bank_id": bank.id, "question_type": "single", "count": 5, "points_each": 10,
                              "knowledge_point": "", "difficulty": ""}).status_code == 302
    assert post_form(c, f"{url}/publish", {}, token_from=url).status_code == 302
    db.refresh(exam)
    assert exam.status == ExamStatus.published and exam.total_points == 50


def test_other_institution_gets_404(login_as, db, setup):
    cls, bank, exam = setup
    c = login_as("fj_staff")
    assert c.get(f"/exams/manage/{exam.id}").status_code == 404
    assert c.get(f"/exams/banks/{bank.id}").status_code == 404


def _start(c, exam):
    resp = post_form(c, f"/exams/{exam.id}/start", {}, token_from="/exams/my")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:300]
    return int(re.search(r"/attempts/(\d+)", resp.headers["Location"]).group(1))


def test_trainee_sits_with_script_seq_and_refusals(app, login_as, db, world, setup):
    cls, bank, exam = setup
    c = login_as("wangfang")
    assert "开始考试" in c.get("/exams/my").get_data(as_text=True)
    aid = _start(c, exam)
    assert _start(c, exam) == aid  # a second tab resumes the same attempt
    page = c.get(f"/exams/attempts/{aid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    att = db.get(Attempt, aid)
    aq = att.questions[0]
    correct = [o["id"] for o in aq.options if o["id"] in aq.answer]
    assert "正确答案" not in page and "data-save-url" in page

    def save(body):
        return c.post(f"/exams/attempts/{aid}/answer", data=json.dumps(body), content_type="application/json",
                      headers={"X-CSRFToken": token, "Accept": "application/json"})

    r = save({"question": aq.id, "selected": correct, "seq": 2})
    assert r.status_code == 200 and r.json["saved"] and r.json["seq"] == 2
    r = save({"question": aq.id, "selected": ["Z"], "seq": 3})
    assert r.status_code == 422 and "选项不存在" in r.json["message"]
    r = save({"question": 999999, "selected": ["A"], "seq": 3})
    assert r.status_code == 422 and "不在您的试卷上" in r.json["message"]
    stale = [o["id"] for o in aq.options if o["id"] not in aq.answer][:1]
    r = save({"question": aq.id, "selected": stale, "seq": 1})
    assert r.status_code == 200 and not r.json["saved"] and r.json["selected"] == correct
    assert c.post(f"/exams/attempts/{aid}/answer", data=json.dumps({"question": aq.id, "selected": correct, "seq": 9}),
                  content_type="application/json").status_code == 400  # no CSRF token
    page = c.get(f"/exams/attempts/{aid}").get_data(as_text=True)
    assert f'id="q-{aq.id}-{correct[0]}" checked' in page

    # Someone else cannot reach the attempt at all.
    other = app.test_client()
    login(other, "linfz")
    assert other.get(f"/exams/attempts/{aid}").status_code == 404
    assert other.post(f"/exams/attempts/{aid}/answer", data=json.dumps({"question": aq.id, "selected": correct, "seq": 50}),
                      content_type="application/json", headers={"X-CSRFToken": token}).status_code in (400, 404)
    for _ in range(2):
        resp = post_form(c, f"/exams/attempts/{aid}/submit", {}, token_from="/exams/my")
        assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/attempts/{aid}/result")
    assert db.scalar(select(func.count(ExamResult.id)).where(ExamResult.attempt_id == aid)) == 1
    html = c.get(f"/exams/attempts/{aid}/result").get_data(as_text=True)
    assert 'id="result-score"' in html and "review-closed" in html  # review opens after the window closes
    staff = app.test_client()
    login(staff, "nt_staff")
    assert f'id="attempt-{aid}"' in staff.get(f"/exams/manage/{exam.id}/attempts").get_data(as_text=True)
    assert 'id="sheet-score"' in staff.get(f"/exams/manage/attempts/{aid}").get_data(as_text=True)
    outsider = app.test_client()
    login(outsider, "fj_staff")
    assert outsider.get(f"/exams/manage/attempts/{aid}").status_code == 404
    assert c.get(f"/exams/manage/attempts/{aid}").status_code == 403
    r = save({"question": aq.id, "selected": correct, "seq": 10})
    assert r.status_code == 409


def test_trainee_without_script_posts_the_whole_page(login_as, db, world, setup):
    cls, bank, exam = setup
    c = login_as("wangfang")
    aid = _start(c, exam)
    att = db.get(Attempt, aid)
    data = {}
    for aq in att.questions:
        data[f"s-{aq.id}"] = "0"
        data[f"q-{aq.id}"] = aq.answer if aq.type.value == "multiple" else aq.answer[0]
    resp = post_form(c, f"/exams/attempts/{aid}", {**data, "action": "save"})
    assert resp.status_code == 302
    assert db.scalar(select(func.count(Answer.id)).where(Answer.attempt_id == aid)) == len(att.questions)
    resp = post_form(c, f"/exams/attempts/{aid}", {**{k: v for k, v in data.items() if k.startswith("q-")},
                                                   **{k: "1" for k in data if k.startswith("s-")}, "action": "submit"})
    assert resp.status_code == 302
    db.refresh(att)
    assert att.status == AttemptStatus.submitted and att.score == 100
    assert "合格" in c.get(f"/exams/attempts/{aid}/result").get_data(as_text=True)


def test_offline_result_by_hand_and_api_reads_results(client, login_as, db, world, setup):
    cls, bank, exam = setup
    c = login_as("nt_staff")
    url = f"/exams/manage/{exam.id}/offline"
    resp = post_form(c, url, {"kind": "one", "one-username": "nobody", "one-score": 80})
    assert "学员账号" in resp.get_data(as_text=True)
    assert post_form(c, url, {"kind": "one", "one-username": "wangfang", "one-score": 82}).status_code == 302
    assert 'id="score-chart"' in c.get(f"/exams/manage/{exam.id}/results").get_data(as_text=True)

    _tok, secret = create_token(db, world.staff_nt, "机构系统")
    _tok2, other = create_token(db, world.staff_fj, "别的机构")
    db.commit()
    h = {"Authorization": f"Bearer {secret}"}
    r = client.get(f"/api/v1/exams/{exam.id}/results", headers=h)
    assert r.status_code == 200 and r.json["total"] == 1
    item = r.json["items"][0]
    assert item["source"] == "offline" and item["score"] == 82 and item["passed"] and item["counting"]
    assert client.get("/api/v1/exams", headers=h).json["total"] == 1
    assert client.get(f"/api/v1/exams/{exam.id}/results", headers={"Authorization": f"Bearer {other}"}).status_code == 404
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/exams/{exam_id}/results" in spec["paths"]


def test_grading_queue_over_http(login_as, db, world, setup):
    cls, bank, _ = setup
    exam = f.make_exam(db, world.staff_nt, cls, bank, sections=[("short_answer", 1, 100)],
                       opens_at=attempts.utcnow() - f.dt.timedelta(hours=1), closes_at=attempts.utcnow() + f.dt.timedelta(days=1),
                       review_policy="after_submit")
    att = attempts.start_attempt(db, world.trainee, exam)
    attempts.save_answer(db, world.trainee, att, att.questions[0].id, text="建立质量管理体系", seq=1)
    attempts.submit(db, world.trainee, att)
    db.commit()
    c = login_as("nt_staff")
    assert "1 道待评分" in c.get("/home").get_data(as_text=True)
    ans = db.scalar(select(Answer).where(Answer.attempt_id == att.id))
    resp = post_form(c, f"/exams/grading/{ans.id}", {"points": 150})
    assert "得分」须在 0 到 100 之间" in resp.get_data(as_text=True)
    assert post_form(c, f"/exams/grading/{ans.id}", {"points": 70, "comment": "较好"}).status_code == 302
    db.refresh(att)
    assert att.score == 70 and att.passed
    t = c.application.test_client()
    login(t, "wangfang")
    html = t.get(f"/exams/attempts/{att.id}/result").get_data(as_text=True)
    assert "参考答案" in html and "70" in html


def test_answers_after_the_deadline_are_refused_whatever_the_page_says(login_as, db, world, setup):
    cls, bank, exam = setup
    c = login_as("wangfang")
    aid = _start(c, exam)
    att = db.get(Attempt, aid)
    aq = att.questions[0]
    page = c.get(f"/exams/attempts/{aid}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    att.deadline_at = attempts.utcnow() - attempts.GRACE - f.dt.timedelta(seconds=5)
    db.commit()
    r = c.post(f"/exams/attempts/{aid}/answer", data=json.dumps({"question": aq.id, "selected": aq.answer, "seq": 1}),
               content_type="application/json", headers={"X-CSRFToken": token, "Accept": "application/json"})
    assert r.status_code == 409 and "时间已到" in r.json["message"]
    resp = post_form(c, f"/exams/attempts/{aid}", {f"q-{aq.id}": aq.answer[0], f"s-{aq.id}": "0", "action": "save"},
                     token_from="/exams/my")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/result")
    db.refresh(att)
    assert att.status == AttemptStatus.expired and att.score == 0
    assert db.scalar(select(func.count(Answer.id)).where(Answer.attempt_id == aid)) == 0


def test_province_regulator_keeps_the_shared_bank_through_the_pages(app, login_as, db, world):
    c = login_as("js_admin")
    resp = post_form(c, "/exams/banks", {"name": "江苏省共享题库", "description": ""})
    assert resp.status_code == 302
    bank_url = resp.headers["Location"]
    new_url = bank_url + "/questions/new"
    resp = post_form(c, new_url, {"type": "single", "stem": "中国品牌日是哪天？", "option_a": "3月15日", "option_b": "5月10日",
                                  "answer": "C", "knowledge_point": "品牌管理", "difficulty": "easy"})
    assert "「正确答案」只能是已有选项的字母" in resp.get_data(as_text=True)
    resp = post_form(c, new_url, {"type": "single", "stem": "中国品牌日是哪天？", "option_a": "3月15日", "option_b": "5月10日",
                                  "answer": "B", "knowledge_point": "品牌管理", "difficulty": "easy", "explanation": "2017年设立"})
    assert resp.status_code == 302
    q = db.scalar(select(Question).where(Question.stem == "中国品牌日是哪天？"))
    assert q.answer == ["B"] and q.bank.province_id == world.jiangsu.id
    edit = c.get(f"/exams/questions/{q.id}/edit").get_data(as_text=True)
    assert 'value="5月10日"' in edit
    staff = app.test_client()  # the institution sees the shared bank but cannot change it
    login(staff, "nt_staff")
    assert staff.get(bank_url).status_code == 200
    assert post_form(staff, f"/exams/questions/{q.id}/edit", {"type": "single", "stem": "改", "option_a": "甲",
                     "option_b": "乙", "answer": "A", "knowledge_point": "品牌管理", "difficulty": "easy"}).status_code == 403


def _fail_once(c, exam) -> int:
    """The trainee starts and hands in a blank paper: graded, not passed, one attempt of two used."""
    aid = _start(c, exam)
    assert post_form(c, f"/exams/attempts/{aid}/submit", {}, token_from="/exams/my").status_code == 302
    return aid


def _refused_retry(c, db, exam, aid, why: str) -> None:
    """No retry button on the result, and the start itself refuses with the admission's reason."""
    assert 'id="retry"' not in c.get(f"/exams/attempts/{aid}/result").get_data(as_text=True)
    resp = post_form(c, f"/exams/{exam.id}/start", {}, token_from="/exams/my")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/exams/my")
    assert why in c.get("/exams/my").get_data(as_text=True)
    assert db.scalar(select(func.count(Attempt.id)).where(Attempt.exam_id == exam.id)) == 1


def test_retry_is_refused_when_attendance_so_far_is_below_the_minimum(login_as, db, world, setup):
    cls, bank, exam = setup
    c = login_as("wangfang")
    aid = _fail_once(c, exam)
    assert 'id="retry"' in c.get(f"/exams/attempts/{aid}/result").get_data(as_text=True)  # admitted: offered
    f.add_session(db, cls, attempts.utcnow() - f.dt.timedelta(days=1))  # held, and she was absent: 0 % < 80 %
    db.commit()
    _refused_retry(c, db, exam, aid, "低于参加考试要求的 80%")


def test_retry_is_refused_when_the_exam_is_not_open(login_as, db, world, setup):
    cls, bank, exam = setup
    c = login_as("wangfang")
    aid = _fail_once(c, exam)
    exam.opens_at = attempts.utcnow() + f.dt.timedelta(hours=2)  # the window moved: not open yet
    db.commit()
    _refused_retry(c, db, exam, aid, "考试尚未开始")


def test_hot_paths_read_before_one_write_phase(login_as, db, world, setup):
    """Start and submit read (the login's session and user included) in deferred transactions and write in one
    write phase at the end (on SQLite the write lock is held only for the writes); the autosave (issue 20) reads
    nothing first: its guard statement checks the login session itself."""
    from sqlalchemy import event

    from lms import db as lms_db

    cls, bank, exam = setup
    c = login_as("wangfang")
    token = csrf_token(c, "/exams/my")
    engine = db.get_bind().engine

    def phases(request, login_read=True):
        seen = []

        def spy(conn, cursor, statement, params, context, executemany):
            seen.append((lms_db._write_intent.get(), statement))

        event.listen(engine, "before_cursor_execute", spy)
        try:
            resp = request()
        finally:
            event.remove(engine, "before_cursor_execute", spy)
        intents = [intent for intent, _s in seen]
        first_write = intents.index(True)
        assert not any(intents[:first_write]) and all(intents[first_write:]), seen
        if login_read:
            assert any("user_sessions" in s for intent, s in seen if not intent)  # the login read first
        else:
            guard = next(s for _i, s in seen if not s.startswith(("BEGIN", "SAVEPOINT", "RELEASE")))
            assert first_write == 0 and "user_sessions" in guard and guard.startswith("UPDATE")
        return resp

    resp = phases(lambda: c.post(f"/exams/{exam.id}/start", data={"csrf_token": token}))
    aid = int(re.search(r"/attempts/(\d+)", resp.headers["Location"]).group(1))
    aq = db.get(Attempt, aid).questions[0]
    r = phases(lambda: c.post(f"/exams/attempts/{aid}/answer", content_type="application/json",
                              data=json.dumps({"question": aq.id, "selected": aq.answer[:1], "seq": 1}),
                              headers={"X-CSRFToken": token, "Accept": "application/json"}), login_read=False)
    assert r.status_code == 200 and r.json["saved"]
    assert phases(lambda: c.post(f"/exams/attempts/{aid}/submit", data={"csrf_token": token})).status_code == 302
    assert db.scalar(select(func.count(ExamResult.id)).where(ExamResult.attempt_id == aid)) == 1
