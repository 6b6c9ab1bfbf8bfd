"""评选 nominations from a list: the selection page and the API list whom the organising bureau may nominate (the
active pool members of its region and below with the selection's stars, not yet nominated), the most stars first,
from the one service both doors call (``assessments.nomination_candidates``), and a choice from the list nominates.
Before, a bureau had to know each person's talent pool entry number."""
import datetime as dt
import re

import pytest
from sqlalchemy import select

from lms.auth import services as auth_services
from lms.errors import FieldConflict, Forbidden
from talent.models import Nomination, PoolStatus
from talent.services import assessments as flow
from talent.services import entries
from tests.conftest import csrf_token
from tests.conftest import login as _login
from tests.factories import PASSWORD, make_trainee


def _entry(db, world, user, cert_id, stars, region=None, status=PoolStatus.active):
    e = entries.on_certificate_issued(db, user_id=user.id, certificate_id=cert_id, number=f"JS-B-2026-{cert_id}",
                                      tier="basic", issued_on=dt.date(2026, 3, 1),
                                      valid_until=dt.date(2029, 3, 1), region_id=(region or world.qidong).id,
                                      enterprise_id=(world.ent_rg if region is world.rugao else world.ent_qd).id)
    e.stars, e.status = stars, status
    return e


@pytest.fixture
def pool(db, world):
    """Qidong's selection (4 stars needed, the province's default) and five pool members around it: two it may
    nominate, and one each too few stars, suspended and of another county."""
    s = flow.open_selection(db, world.county_admin, 2026, "2026年度启东市优秀首席质量官")
    people = {name: make_trainee(db, name, world.ent_qd) for name in ("cand4", "low3", "susp5", "rugao5")}
    out = {
        "five": _entry(db, world, world.trainee, 900001, 5),
        "four": _entry(db, world, people["cand4"], 900002, 4),
        "three": _entry(db, world, people["low3"], 900003, 3),
        "suspended": _entry(db, world, people["susp5"], 900004, 5, status=PoolStatus.suspended),
        "rugao": _entry(db, world, people["rugao5"], 900005, 5, region=world.rugao),
    }
    db.flush()
    assert s.min_stars == 4
    return s, out


def test_provincial_selection_candidates_follow_the_nomination_rule(db, world, pool, monkeypatch):
    s, e = pool
    listed, more = flow.nomination_candidates(db, world.county_admin, s)
    assert [x.id for x in listed] == [e["five"].id, e["four"].id] and more is False  # most stars first
    # the list is the rule: each listed person is accepted, each left out is refused by nominate itself
    for name in ("three", "suspended", "rugao"):
        with pytest.raises(FieldConflict):
            flow.nominate(db, world.county_admin, s, e[name], "")
    flow.nominate(db, world.county_admin, s, e["four"], "质量提升成效显著")
    assert [x.id for x in flow.nomination_candidates(db, world.county_admin, s)[0]] == [e["five"].id]
    monkeypatch.setattr(flow, "CANDIDATES_SHOWN", 0)
    assert flow.nomination_candidates(db, world.county_admin, s) == ([], True)
    # only the organising bureau sees whom it may nominate (the city above may read the selection, not nominate)
    with pytest.raises(Forbidden):
        flow.nomination_candidates(db, world.city_admin, s)


def _login_as(client, username):
    client.post("/auth/logout", data={})
    client.delete_cookie("session")
    _login(client, username, PASSWORD)


def test_provincial_selection_candidates_page_nominates_by_choice(client, db, world, pool, monkeypatch):
    s, e = pool
    db.commit()
    _login_as(client, "qd_admin")
    url = f"/talent/selections/{s.id}"
    html = client.get(url).get_data(as_text=True)
    radios = re.findall(r'type="radio" name="nom-entry_id" value="(\d+)"', html)
    assert radios == [str(e["five"].id), str(e["four"].id)]
    assert "nominate-by-number" not in html  # everyone fits in the list
    token = csrf_token(client, url)
    resp = client.post(url, data={"nom-csrf_token": token, "action": "nominate", "nom-entry_id": e["four"].id,
                                  "nom-reason": "质量提升成效显著"})
    assert resp.status_code == 302
    nominated = db.scalars(select(Nomination).where(Nomination.selection_id == s.id)).all()
    assert [(n.entry_id, n.reason) for n in nominated] == [(e["four"].id, "质量提升成效显著")]
    html = client.get(url).get_data(as_text=True)
    assert re.findall(r'type="radio" name="nom-entry_id" value="(\d+)"', html) == [str(e["five"].id)]
    # nothing chosen: a clear message, nothing nominated
    resp = client.post(url, data={"nom-csrf_token": token, "action": "nominate", "nom-reason": "x"})
    assert resp.status_code == 200 and 'id="form-errors"' in resp.get_data(as_text=True)
    assert db.scalar(select(Nomination.id).where(Nomination.entry_id == e["five"].id)) is None
    # a list cut short offers the entry number for the rest
    monkeypatch.setattr(flow, "CANDIDATES_SHOWN", 0)
    html = client.get(url).get_data(as_text=True)
    assert 'id="nominate-by-number-form"' in html and 'id="no-candidates"' in html
    # the city above reads the selection but is offered no one
    _login_as(client, "nt_admin")
    html = client.get(url).get_data(as_text=True)
    assert "candidates-table" not in html and "nominate-form" not in html


def test_provincial_selection_candidates_api_is_the_page_list(client, db, world, pool):
    s, e = pool
    flow.nominate(db, world.county_admin, s, e["four"], "")
    _tok, clear = auth_services.create_token(db, world.county_admin, "t")
    _tok, city = auth_services.create_token(db, world.city_admin, "t")
    db.commit()
    path = f"/api/v1/talent/selections/{s.id}/candidates"
    got = client.get(path, headers={"Authorization": f"Bearer {clear}"}).get_json()
    assert got == {"items": [{"entry_id": e["five"].id, "name": e["five"].name, "enterprise": world.ent_qd.name,
                              "region": world.qidong.name, "stars": 5}], "more": False}
    assert client.get(path, headers={"Authorization": f"Bearer {city}"}).status_code == 403
    assert client.get("/api/v1/talent/selections/999999/candidates",
                      headers={"Authorization": f"Bearer {clear}"}).status_code == 404
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "/api/v1/talent/selections/{selection_id}/candidates" in spec["paths"]
