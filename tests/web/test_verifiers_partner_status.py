"""Issue 16: a partner province's printed code (/C/<TOKEN>, carrying its status-list index) is checked here by
signature AND status: the partner's signed W3C Bitstring Status Lists are fetched, checked with the partner's
keys from our trust list, kept a while, and a revoked partner credential is refused. The partner is a local stub
on 127.0.0.1 that signs its lists with its own key ring, never the internet."""
from __future__ import annotations

import datetime as dt
import json
import threading
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from certificates import compact, export, keys, partners, status_list
from certificates.services import CertConfig
from tests.conftest import TODAY

INDEX = 4711


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def fujian(tmp_path):
    """A stand-in for the Fujian deployment: its key ring, status lists it signs (``revoked``, ``suspended`` are
    the indices set), and its printed code for one certificate."""
    key_dir = tmp_path / "fj-keys"
    kid = keys.create_key(key_dir, TODAY - dt.timedelta(days=30), prefix="fj-")
    state = {"revoked": set(), "suspended": set(), "down": False, "forge": False}
    seen = []

    def app(environ, start_response):
        path = environ["PATH_INFO"]
        seen.append(path)
        purpose = path.rsplit("/", 1)[-1]
        if state["down"] or not path.startswith("/status-lists/") or purpose not in status_list.PURPOSES:
            start_response("503 Service Unavailable", [("Content-Length", "0")])
            return [b""]
        cfg = CertConfig(str(key_dir), base)
        now = dt.datetime.now(dt.timezone.utc)
        payload = {"type": ["VerifiableCredential", "BitstringStatusListCredential"], "validFrom": now.isoformat(),
                   "credentialSubject": {"type": "BitstringStatusList", "statusPurpose": purpose,
                                         "encodedList": status_list.encode(state[{"revocation": "revoked"}.get(
                                             purpose, "suspended")], status_list.MIN_BITS)}}
        signer = keys.create_key(tmp_path / "other", TODAY) if state["forge"] else kid
        cfg_other = CertConfig(str(tmp_path / "other"), base)
        body = export.sign_jwt(payload, cfg_other if state["forge"] else cfg, signer).encode()
        start_response("200 OK", [("Content-Type", "application/vc+jwt"), ("Content-Length", str(len(body)))])
        return [body]

    server = make_server("127.0.0.1", 0, app, handler_class=_Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    fields = {"holder_name": "林建华", "number": "350000-B-2026-00007", "tier": "basic",
              "issued_on": (TODAY - dt.timedelta(days=3)).isoformat(), "valid_until": "2029-11-21", "kid": kid,
              "status_index": INDEX}
    link = compact.qr_url(base, compact.sign(keys.private_key(key_dir, kid), fields))
    partners.forget_status_lists()
    yield {"base": base, "doc": keys.public_document(key_dir), "link": link, "state": state, "seen": seen,
           "fields": fields}
    partners.forget_status_lists()
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.fixture
def partner(db, world, fujian):
    p = partners.add_partner(db, world.sysadmin, "福建省（示例）", fujian["base"], json.dumps(fujian["doc"]),
                             "闽苏证书互认协议（示例）")
    db.commit()
    return p


def test_verifiers_partner_compact_link_status_from_its_list(client, partner, fujian):
    link = fujian["link"]
    assert link.startswith("HTTP://127.0.0.1:")  # the printed form: scheme and host upper case
    out = client.get("/api/v1/partner-verify", query_string={"link": link}).get_json()
    assert out["signature_valid"] is True and out["fields"]["status_index"] == INDEX
    assert out["status"] == "valid" and out["status_source"] == "status_list" and out["accepted"] is True
    assert out["status_updated_at"]
    assert "/status-lists/revocation" in fujian["seen"] and "/status-lists/suspension" in fujian["seen"]

    fujian["state"]["revoked"].add(INDEX)  # the partner revokes; our kept copy is fresh for STATUS_LIST_TTL
    assert client.get("/api/v1/partner-verify", query_string={"link": link}).get_json()["status"] == "valid"
    partners.forget_status_lists()  # … and once it is older, the new list is fetched
    out = client.get("/api/v1/partner-verify", query_string={"link": link}).get_json()
    assert out["status"] == "revoked" and out["accepted"] is False and out["signature_valid"] is True
    page = client.get("/verify-partner", query_string={"link": link}).get_data(as_text=True)
    assert 'data-status="revoked"' in page and 'data-accepted="no"' in page and "不予认可" in page
    assert "之后的撤销无法得知" in page


def test_verifiers_partner_compact_suspended_and_neighbours(client, partner, fujian):
    fujian["state"]["suspended"].update({INDEX})
    fujian["state"]["revoked"].update({INDEX - 1, INDEX + 1})  # its neighbours' bits do not touch it
    out = client.get("/api/v1/partner-verify", query_string={"link": fujian["link"]}).get_json()
    assert out["status"] == "suspended" and out["accepted"] is False


def test_verifiers_partner_list_not_signed_by_the_partner_is_not_believed(client, partner, fujian):
    fujian["state"]["forge"] = True
    out = client.get("/api/v1/partner-verify", query_string={"link": fujian["link"]}).get_json()
    assert out["signature_valid"] is True and out["status"] == "unknown" and out["status_source"] == "list_invalid"
    assert out["accepted"] is False


def test_verifiers_partner_kept_list_used_while_partner_is_down(db, partner, fujian, monkeypatch):
    res = partners.check_link(db, fujian["link"], today=TODAY)
    assert res.accepted and res.status_source == "status_list"
    fujian["state"]["down"] = True
    monkeypatch.setattr(partners, "STATUS_LIST_TTL", 0.0)  # stale at once: asks again, gets nothing, uses the copy
    again = partners.check_link(db, fujian["link"], today=TODAY)
    assert again.status == "valid" and again.status_updated_at == res.status_updated_at
    partners.forget_status_lists()  # no copy and no answer: unknown, never valid
    gone = partners.check_link(db, fujian["link"], today=TODAY)
    assert gone.status == "unknown" and gone.status_source == "unreachable" and not gone.accepted


def test_verifiers_partner_compact_expired_by_its_dates(db, partner, fujian):
    res = partners.check_link(db, fujian["link"], today=dt.date(2029, 11, 22))
    assert res.checked.ok and res.status == "expired" and not res.accepted


def test_verifiers_status_list_stays_eddsa_when_credentials_use_es256(app, db, tmp_path, monkeypatch):
    """A partner whose credentials are ES256 still publishes lists our Ed25519 trust list can check."""
    key_dir = tmp_path / "k"
    keys.create_key(key_dir, TODAY)
    cfg = CertConfig(str(key_dir), "https://cqo.example.cn", jwt_alg="ES256")
    token = status_list.credential_jwt(db, cfg, "revocation")
    from certificates import status_verdict

    assert status_verdict.status_verdict([token], keys.public_document(key_dir), 1).state == "clear"
