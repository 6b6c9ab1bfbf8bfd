"""Issue 14, the validity point, through the pages, the API, the OB3 credential and the demo: a certificate with no
end date reads 长期有效 wherever a validity is shown (the phone's offline words are the command line's); the
programme's validity is optional, with no default, labelled 本省自定 when set; the demo sets none."""
import datetime as dt
import json
import re
from pathlib import Path

import jsonschema
import jwt as pyjwt
import pytest
from sqlalchemy import select

from certificates import keys, services, verdicts
from certificates.models import Certificate
from courses.models import Programme
from lms import demo
from lms.auth import services as auth_services
from lms.auth.models import User
from lms.settingbasis import BasisKind, basis_of
from tests.cert_factories import completion_rule, cw  # noqa: F401
from tests.conftest import TODAY, login, post_form

OB3 = Path(__file__).resolve().parent.parent / "assets" / "ob3"


@pytest.fixture
def cfg(app):
    keys.ensure_key(app.config["CERT_KEY_DIR"], TODAY)
    return services.CertConfig.from_app(app)


def _bearer(db, user) -> dict:
    _tok, clear = auth_services.create_token(db, user, "test")
    db.commit()
    return {"Authorization": f"Bearer {clear}"}


def test_policy_validity_pages_api_and_credential_say_long_term(client, db, world, cw, cfg, completion_rule):
    cw.programme.certificate_validity_years = None
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    db.commit()
    page = client.get(services.printed_path(cert, cfg.key_dir)).get_data(as_text=True)
    assert 'id="sig-result" data-state="valid"' in page
    assert re.search(r'id="valid-until">\s*长期有效\s*<', page)
    public = client.get(f"/api/v1/verify/{cert.cid}").get_json()
    assert public["status"] == "valid" and public["valid_until"] is None
    headers = _bearer(db, world.trainee)
    own = client.get(f"/api/v1/certificates/{cert.number}", headers=headers).get_json()
    assert own["valid_until"] is None and own["status"] == "valid"
    token = client.get(f"/api/v1/certificates/{cert.number}/credential", headers=headers).get_data(as_text=True)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    assert "exp" not in claims and "validUntil" not in claims and "expirationDate" not in claims
    jsonschema.validate(claims, json.loads((OB3 / "ob_v3p0_achievementcredential_schema.json").read_text()))
    login(client, world.trainee.username)
    mine = client.get("/certificates").get_data(as_text=True)
    assert cert.number in mine and "长期有效" in mine


def test_policy_validity_phone_and_command_line_say_the_same(client):
    """The phone's offline verifier shows no end date in the command line's word, and its compare sentence is the
    command line's word for word."""
    html = client.get("/verify-offline").get_data(as_text=True)
    texts = json.loads(re.search(r'<script type="application/json" id="offline-texts">(.*?)</script>', html,
                                 re.S).group(1))
    assert texts["no_end"] == verdicts.NO_END == "长期有效"
    checked = type("C", (), {"ok": True, "reason": "ok", "fields": {
        "holder_name": "王芳", "number": "N-1", "tier": "basic", "issued_on": "2006-01-01", "valid_until": None,
        "kid": "k"}})()
    verdict = verdicts.offline_verdict(checked, dt.date(2066, 6, 1))
    phone_compare = texts["compare"] + texts["expected"].replace("%(name)s", "王芳").replace("%(number)s", "N-1") \
        .replace("%(start)s", "2006-01-01").replace("%(end)s", texts["no_end"])
    assert verdict.code == "valid" and phone_compare == verdict.compare
    assert verdict.headline == texts["valid"]


@pytest.fixture
def demo_world(app, db):
    with app.app_context():
        demo.seed(db, dt.date.today())
    db.flush()
    return db


def test_policy_validity_programme_setting_is_optional(app, demo_world, client):
    prog = demo_world.scalar(select(Programme).where(Programme.province.has(code="350000")).order_by(Programme.id).limit(1))
    login(client, "fujian_admin", demo.DEMO_PASSWORD)
    url = f"/courses/programmes/{prog.id}/edit"
    form = client.get(url).get_data(as_text=True)
    assert re.search(r'id="certificate_validity_years"[^>]*value=""', form) or \
        not re.search(r'id="certificate_validity_years"[^>]*value="\d', form)  # no default years offered
    data = {"province_id": prog.province_id, "tier": prog.tier.value, "year": prog.year, "name": prog.name,
            "pass_mark": "60", "min_attendance_pct": "80", "certificate_validity_years": "4",
            "requires_lower_tier": "y", "eligibility_rule_set_id": prog.eligibility_rule_set_id or 0,
            "course_ids": [c.id for c in prog.courses], "basis_kind": "example", "basis_source": ""}
    bad = post_form(client, url, {**data, "certificate_validity_years": "11"})
    assert bad.status_code == 200 and "须在 1 到 10 之间" in bad.get_data(as_text=True)
    demo_world.expire_all()
    assert demo_world.get(Programme, prog.id).certificate_validity_years is None  # nothing changed
    assert post_form(client, url, data).status_code == 302
    demo_world.expire_all()
    prog = demo_world.get(Programme, prog.id)
    assert prog.certificate_validity_years == 4
    assert basis_of(demo_world, prog, "certificate_validity_years").kind is BasisKind.province  # 本省自定 when set
    assert basis_of(demo_world, prog, "pass_mark").kind is BasisKind.example
    page = client.get(f"/courses/programmes/{prog.id}").get_data(as_text=True)
    assert re.search(r'data-setting="programmes.certificate_validity_years">4 年<small[^>]*>〔本省自定〕', page)
    assert post_form(client, url, {**data, "certificate_validity_years": ""}).status_code == 302
    demo_world.expire_all()
    assert demo_world.get(Programme, prog.id).certificate_validity_years is None
    page = client.get(f"/courses/programmes/{prog.id}").get_data(as_text=True)
    assert 'data-setting="programmes.certificate_validity_years">不设有效期（长期有效）<' in page


def test_policy_validity_demo_sets_none_and_its_old_certificate_is_in_force(app, demo_world, client):
    assert demo_world.scalars(select(Programme.certificate_validity_years)).all()
    assert set(demo_world.scalars(select(Programme.certificate_validity_years))) == {None}
    old = demo_world.scalars(select(Certificate).join(User, User.id == Certificate.holder_user_id)
                             .where(User.username == "trainee04")).all()
    assert old and all(c.valid_until is None and c.status.value == "valid" for c in old)
    assert min(c.issued_on for c in old) < dt.date.today() - dt.timedelta(days=3 * 365)  # would have expired
    assert demo_world.scalar(select(Certificate.id).where(Certificate.valid_until.is_not(None))) is None
    login(client, "trainee04", demo.DEMO_PASSWORD)
    page = client.get("/certificates").get_data(as_text=True)
    assert "长期有效" in page and "已过期" not in page
