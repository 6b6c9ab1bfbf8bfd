"""Issue 15, point 1: every province setting carries its basis (依据 + document and clause, 本省自定 or 示例),
shown next to the value wherever staff or trainees read it.

The policy values are the registered settings (``lms.settingbasis.register_setting``); templates show them only
through the ``setting`` macro, which always prints the label. One test walks the demo as every demo role and
checks every rendered setting has its label; another reads the templates and fails when a registered setting
is printed other than through the macro."""
from __future__ import annotations

import datetime as dt
import re
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urldefrag, urlparse

import pytest
from sqlalchemy import select

from courses.models import Programme
from exams.models import Exam
from lms.auth.models import User
from lms.auth.services import create_token
from lms import demo
from lms.settingbasis import BasisKind, basis_of, registered_settings, set_basis
from lms.errors import ValidationFailed
from tests.conftest import login, post_form

ROOT = Path(__file__).resolve().parents[2]
DEMO_USERS = ["trainee", "trainee01", "nt_staff", "js_staff", "fj_staff", "qidong_admin", "nantong_admin",
              "jiangsu_admin", "fujian_admin", "admin"]
LABELS = re.compile(r"^〔(示例|本省自定|依据：.+)〕$")
SKIP = re.compile(r"/auth/logout|/lang/|/static/|/files?/|/download|\.(pdf|csv|xlsx|png|svg|mp4)$|/export")
PAGES_PER_ROLE = 260


class _SettingCheck(HTMLParser):
    """Collects every ``.setting`` element with the text of its ``.basis`` child."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []
        self.settings: list[tuple[str, str]] = []  # (key, basis text)
        self._stack: list[tuple[str, str | None]] = []  # (tag, role: setting | basis | None)
        self._key: str | None = None
        self._basis: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        classes = (a.get("class") or "").split()
        role = None
        if "setting" in classes:
            role, self._key, self._basis = "setting", a.get("data-setting", ""), None
        elif "basis" in classes and self._key is not None:
            role, self._basis = "basis", []
        if tag not in ("br", "img", "input", "meta", "link", "hr"):
            self._stack.append((tag, role))

    def handle_endtag(self, tag):
        while self._stack:
            t, role = self._stack.pop()
            if role == "setting":
                self.settings.append((self._key, "".join(self._basis or []).strip() if self._basis is not None else ""))
                self._key = None
            if t == tag:
                break

    def handle_data(self, data):
        if self._basis is not None and self._stack and self._stack[-1][1] == "basis":
            self._basis.append(data)


@pytest.fixture
def demo_world(app, db):
    with app.app_context():
        demo.seed(db, dt.date.today())
    db.flush()
    return db


def _walk(app, username: str) -> tuple[set[str], list[str]]:
    """Every page the user reaches from home by links (GET), and the problems found on them."""
    client = app.test_client()
    login(client, username, demo.DEMO_PASSWORD)
    seen, queue, keys, problems = set(), ["/"], set(), []
    while queue and len(seen) < PAGES_PER_ROLE:
        url = queue.pop(0)
        if url in seen:
            continue
        seen.add(url)
        resp = client.get(url)
        body = resp.get_data(as_text=True) if resp.mimetype == "text/html" else ""
        resp.close()  # a served upload holds its file open until closed
        if resp.status_code >= 500:
            problems.append(f"{username} {url}: {resp.status_code}")
        if resp.status_code in (301, 302, 303) and resp.location:
            queue.append(urlparse(resp.location)._replace(scheme="", netloc="").geturl())
        if resp.status_code != 200 or not body:
            continue
        page = _SettingCheck()
        page.feed(body)
        for key, label in page.settings:
            keys.add(key)
            if not LABELS.match(label):
                problems.append(f"{username} {url}: setting {key} shown without its basis ({label!r})")
        for href in page.links:
            href = urldefrag(href)[0]
            parsed = urlparse(href)
            if parsed.scheme or parsed.netloc or not href.startswith("/") or SKIP.search(parsed.path):
                continue
            if re.search(r"[?&]page=([3-9]|\d\d)", href):  # the first pages of a list are enough
                continue
            if href not in seen:
                queue.append(href)
    return keys, problems


def test_provincial_every_page_of_the_demo_labels_its_settings(app, demo_world):
    keys, problems = set(), []
    for username in DEMO_USERS:
        k, p = _walk(app, username)
        keys |= k
        problems += p
    assert not problems, "\n".join(problems[:40])
    # The walk did reach the settings (so the check could fail): programme values, course hours, the pass mark
    # a trainee reads, the key industries and the annual report's due day.
    assert {"programmes.pass_mark", "programmes.min_attendance_rate", "programmes.total_hours", "courses.hours",
            "exams.effective_pass_mark", "reporting_settings.key_industries",
            "reporting_settings.annual_report_due"} <= keys, keys


# Printed fields that share a registered setting's name but are not a province setting.
NOT_SETTINGS = {
    ("courses/templates/courses/class_detail.html", "s.hours"): "a timetable session's hours",
    ("courses/templates/courses/class_detail.html", "form.hours"): "the session form's input",
    ("reports/templates/reports/filing.html", "x.hours"): "a filed session's hours",
    ("credits/templates/credits/me.html", "r.hours"): "hours a person was credited",
    ("credits/templates/credits/me.html", "c.hours"): "hours a person claims",
    ("credits/templates/credits/review.html", "c.hours"): "hours a person claims",
    ("lms/templates/orgs/tiers.html", "p.bureau_level"): "the tier editor's selected option (the value is shown with the macro)",
}


def test_provincial_templates_print_settings_only_through_the_macro(app):
    names = {s.field for s in registered_settings()}
    assert {"pass_mark", "min_attendance_rate", "hours", "key_industries", "annual_report_due"} <= names
    pattern = re.compile(r"([\w.]*)\.(" + "|".join(sorted(names)) + r")\b")
    offenders = []
    for path in sorted(ROOT.glob("*/templates/**/*.html")) + sorted(ROOT.glob("lms/templates/**/*.html")):
        rel = str(path.relative_to(ROOT))
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for m in pattern.finditer(line):
                expr = m.group(0)
                if expr.startswith("form.") or (rel, expr) in NOT_SETTINGS:
                    continue
                offenders.append(f"{rel}:{n}: {expr}")
    assert not offenders, "settings printed without the setting macro (and its basis):\n" + "\n".join(offenders)


def test_provincial_basis_recorded_on_a_programme_is_shown_with_its_document(app, demo_world, client):
    prog = demo_world.scalar(select(Programme).order_by(Programme.id).limit(1))
    assert basis_of(demo_world, prog, "pass_mark").kind is BasisKind.example  # the demo invents it: 示例
    set_basis(demo_world, prog, "pass_mark", "source", "《示范办法》第三条")
    demo_world.flush()
    login(client, "admin", demo.DEMO_PASSWORD)
    page = _SettingCheck()
    page.feed(client.get(f"/courses/programmes/{prog.id}").get_data(as_text=True))
    shown = dict(page.settings)
    assert shown["programmes.pass_mark"] == "〔依据：《示范办法》第三条〕"
    assert shown["programmes.min_attendance_rate"] == "〔示例〕"


def test_provincial_basis_refusals_name_the_place(app, demo_world):
    prog = demo_world.scalar(select(Programme).order_by(Programme.id).limit(1))
    with pytest.raises(ValidationFailed) as exc:
        set_basis(demo_world, prog, "pass_mark", "source", "  ")
    assert "basis_source" in exc.value.errors
    with pytest.raises(ValidationFailed) as exc:
        set_basis(demo_world, prog, "name", "province")
    assert "programmes.name" in exc.value.errors["field"]


def test_provincial_programme_form_records_the_basis(app, demo_world, client):
    prog = demo_world.scalar(select(Programme).where(Programme.province.has(code="350000")).order_by(Programme.id).limit(1))
    login(client, "fujian_admin", demo.DEMO_PASSWORD)
    url = f"/courses/programmes/{prog.id}/edit"
    data = {"province_id": prog.province_id, "tier": prog.tier.value, "year": prog.year, "name": prog.name,
            "pass_mark": "70", "min_attendance_pct": "90", "certificate_validity_years": "3",
            "requires_lower_tier": "y", "eligibility_rule_set_id": prog.eligibility_rule_set_id or 0,
            "course_ids": [c.id for c in prog.courses], "basis_kind": "source", "basis_source": ""}
    bad = post_form(client, url, data)
    assert bad.status_code == 200 and "须填写文件名称及条款" in bad.get_data(as_text=True)
    demo_world.expire_all()
    assert demo_world.get(Programme, prog.id).pass_mark != 70  # nothing changed
    ok = post_form(client, url, {**data, "basis_kind": "province"})
    assert ok.status_code == 302
    demo_world.expire_all()
    assert basis_of(demo_world, demo_world.get(Programme, prog.id), "min_attendance_rate").kind is BasisKind.province
    page = _SettingCheck()
    page.feed(client.get(f"/courses/programmes/{prog.id}").get_data(as_text=True))
    assert dict(page.settings)["programmes.min_attendance_rate"] == "〔本省自定〕"


def test_provincial_api_gives_the_pass_mark_with_its_basis(app, demo_world, client):
    staff = demo_world.scalar(select(User).where(User.username == "nt_staff"))
    _tok, secret = create_token(demo_world, staff, "机构系统")
    demo_world.commit()
    items = client.get("/api/v1/exams", headers={"Authorization": f"Bearer {secret}"}).json["items"]
    assert items and all(i["pass_mark_basis"]["kind"] in ("source", "province", "example") for i in items)
    exam = demo_world.get(Exam, items[0]["id"])
    holder = exam if exam.pass_mark is not None else exam.effective_programme  # where its pass mark comes from
    assert holder is not None
    set_basis(demo_world, holder, "pass_mark", "province")
    demo_world.commit()
    item = client.get("/api/v1/exams?per_page=100", headers={"Authorization": f"Bearer {secret}"}).json["items"]
    assert {i["id"]: i for i in item}[exam.id]["pass_mark_basis"] == {"kind": "province", "source": ""}
