"""Issue 16: the Open Badges 3.0 credential as standard verifiers see it (PyJWT, jwcrypto, the 1EdTech OB3 JSON
schema) and the W3C Bitstring Status List they read for revocation and suspension."""
from __future__ import annotations

import base64
import datetime as dt
import gzip
import json
from pathlib import Path

import jsonschema
import jwt as pyjwt
import pytest
from jwcrypto import jwk as jc_jwk
from jwcrypto import jwt as jc_jwt
from sqlalchemy import select

from certificates import export, keys, services
from certificates.models import Certificate
from lms.auth import services as auth_services
from lms.people.models import TraineeProfile
from tests import factories
from tests.cert_factories import completion_rule, completion_rules, cw, enrol  # noqa: F401
from tests.conftest import TODAY

OB3 = Path(__file__).resolve().parent.parent / "assets" / "ob3"
REQUIRED = ["iss", "sub", "jti", "nbf", "exp"]


@pytest.fixture
def cfg(app):
    keys.ensure_key(app.config["CERT_KEY_DIR"], TODAY)
    app.config["BACKGROUND_INLINE"] = True
    yield services.CertConfig.from_app(app)
    app.config["BACKGROUND_INLINE"] = False
    app.config["CERT_JWT_ALG"] = "EdDSA"


@pytest.fixture
def cert(db, world, cw, cfg, completion_rule) -> Certificate:
    completion_rule("test_ok")
    c = services.issue(db, world.staff_nt, cw.e_wang, cfg, TODAY)
    db.commit()
    return c


def bearer(db, user) -> dict:
    _tok, clear = auth_services.create_token(db, user, "test")
    db.commit()
    return {"Authorization": f"Bearer {clear}"}


def resolve(client, cfg, url: str):
    """GET a URL the credential names, through the app (it must be one of ours, public: no login)."""
    assert url.startswith(cfg.base_url + "/"), url
    resp = client.get(url[len(cfg.base_url):])
    assert resp.status_code == 200, (url, resp.status_code)
    return resp


def token_of(client, db, world, cert) -> str:
    resp = client.get(f"/api/v1/certificates/{cert.number}/credential", headers=bearer(db, world.trainee))
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def key_of(client, cfg, token: str) -> dict:
    header = pyjwt.get_unverified_header(token)
    return resolve(client, cfg, header["kid"]).get_json()


def test_verifiers_ob3_header_and_claims_pass_pyjwt_and_jwcrypto(client, db, world, cert, cfg, app):
    token = token_of(client, db, world, cert)
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == "JWT" and set(header) == {"alg", "kid", "typ"}  # OB3 §8.2.1: no cty, no other headers
    jwk = key_of(client, cfg, token)
    assert jwk["crv"] == "Ed25519" and "d" not in jwk
    claims = pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=["EdDSA"], options={"require": REQUIRED})
    assert claims["iss"] == claims["issuer"]["id"] and claims["jti"] == claims["id"]
    assert claims["sub"] == claims["credentialSubject"]["id"]
    assert claims["exp"] == int(dt.datetime.combine(cert.valid_until, dt.time(23, 59, 59),
                                                    tzinfo=dt.timezone(dt.timedelta(hours=8))).timestamp())
    id_number = db.scalar(select(TraineeProfile.id_number).where(TraineeProfile.user_id == world.trainee.id))
    ident = claims["credentialSubject"]["identifier"][0]
    assert ident["hashed"] is True and ident["identityHash"] == export.identity_hash(id_number, ident["salt"])
    assert id_number not in json.dumps(claims)

    tok = jc_jwt.JWT(jwt=token, key=jc_jwk.JWK(**jwk), expected_type="JWS",
                     check_claims={c: None for c in REQUIRED} | {"iss": claims["iss"]})
    assert json.loads(tok.claims)["jti"] == claims["jti"]

    # The ids resolve: the issuer profile, the achievement (both valid against the OB3 schemas).
    profile = resolve(client, cfg, claims["issuer"]["id"]).get_json()
    assert profile["id"] == claims["issuer"]["id"] and profile["name"] == claims["issuer"]["name"]
    jsonschema.validate(profile, json.loads((OB3 / "ob_v3p0_profile_schema.json").read_text()))
    ach = resolve(client, cfg, claims["credentialSubject"]["achievement"]["id"]).get_json()
    assert "Achievement" in ach["type"]
    # The resolved Achievement is valid against the OB3 schema's own Achievement definition too.
    credential_schema = json.loads((OB3 / "ob_v3p0_achievementcredential_schema.json").read_text())
    jsonschema.validate(ach, {**credential_schema, "$ref": "#/$defs/Achievement", "required": [], "properties": {}})
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({k: v for k, v in ach.items() if k != "criteria"},
                            {**credential_schema, "$ref": "#/$defs/Achievement", "required": [], "properties": {}})


def test_verifiers_ob3_credential_validates_against_the_1edtech_schema(client, db, world, cert, cfg):
    claims = pyjwt.decode(token_of(client, db, world, cert), options={"verify_signature": False})
    schema = json.loads((OB3 / "ob_v3p0_achievementcredential_schema.json").read_text())
    jsonschema.validate(claims, schema)
    broken = dict(claims, credentialSubject={k: v for k, v in claims["credentialSubject"].items() if k != "achievement"})
    with pytest.raises(jsonschema.ValidationError):  # the schema does bite
        jsonschema.validate(broken, schema)


def test_verifiers_ob3_expired_credential_refused_by_both_with_defaults(client, db, world, cert, cfg):
    cert.issued_on, cert.valid_until = dt.date(2019, 1, 10), dt.date(2022, 1, 9)
    db.commit()
    token = token_of(client, db, world, cert)
    jwk = key_of(client, cfg, token)
    with pytest.raises(pyjwt.ExpiredSignatureError):
        pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    with pytest.raises(jc_jwt.JWTExpired):
        jc_jwt.JWT(jwt=token, key=jc_jwk.JWK(**jwk))


def test_verifiers_ob3_es256_option(client, db, world, cert, cfg, app):
    app.config["CERT_JWT_ALG"] = "ES256"
    token = token_of(client, db, world, cert)
    assert pyjwt.get_unverified_header(token)["alg"] == "ES256"
    jwk = key_of(client, cfg, token)
    assert jwk["kty"] == "EC" and jwk["crv"] == "P-256" and "d" not in jwk
    claims = pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=["ES256"], options={"require": REQUIRED})
    jc_jwt.JWT(jwt=token, key=jc_jwk.JWK(**jwk), check_claims={c: None for c in REQUIRED})
    assert claims["credentialSubject"]["name"] == cert.holder_name
    # The same certificate's EdDSA key does not verify the ES256 token.
    with pytest.raises(pyjwt.InvalidTokenError):
        ed = keys.jwk(cfg.key_dir, cert.key_id)
        pyjwt.decode(token, pyjwt.PyJWK(ed).key, algorithms=["EdDSA"])


# ------------------------------------------------------------------ the W3C Bitstring Status List, as a verifier reads it
def w3c_status(client, cfg, entry: dict) -> int:
    """W3C Bitstring Status List v1.0 §3.2 Validate Algorithm, written from the spec, not from our code: fetch the
    status list credential, check its signature with the key its ``kid`` names, check the purpose, expand the
    multibase-base64url GZIP bitstring and read bit ``statusListIndex`` (index 0 = left-most bit)."""
    assert entry["type"] == "BitstringStatusListEntry"
    token = resolve(client, cfg, entry["statusListCredential"]).get_data(as_text=True)
    jwk = key_of(client, cfg, token)
    slc = pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=[jwk["alg"]])
    assert "BitstringStatusListCredential" in slc["type"] and slc["id"] == entry["statusListCredential"]
    subject = slc["credentialSubject"]
    assert subject["type"] == "BitstringStatusList" and subject["statusPurpose"] == entry["statusPurpose"]
    encoded = subject["encodedList"]
    assert encoded[0] == "u"
    bits = gzip.decompress(base64.urlsafe_b64decode(encoded[1:] + "=" * (-len(encoded[1:]) % 4)))
    assert len(bits) * 8 >= 131072  # §4.1: at least 16 KB
    index = int(entry["statusListIndex"])
    return (bits[index // 8] >> (7 - index % 8)) & 1


def verify_with_status(client, cfg, token: str) -> str:
    """A minimal OB3 verifier: signature and claims, then the credentialStatus entry (revocation); then, as our own
    verifiers do, the suspension list published beside it at the same index."""
    jwk = key_of(client, cfg, token)
    claims = pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=["EdDSA"], options={"require": REQUIRED})
    entry = claims["credentialStatus"]
    assert entry["statusPurpose"] == "revocation"
    if w3c_status(client, cfg, entry):
        return "revocation"
    suspension = {**entry, "statusPurpose": "suspension",
                  "statusListCredential": entry["statusListCredential"].replace("/revocation", "/suspension")}
    return "suspension" if w3c_status(client, cfg, suspension) else "ok"


def test_verifiers_status_list_refuses_revoked_and_suspended(client, db, world, cw, cert, cfg):
    enterprise = db.scalar(select(TraineeProfile).where(TraineeProfile.user_id == world.trainee.id)).enterprise
    neighbour = factories.make_trainee(db, "lisi16", enterprise, real_name="李四")
    other = services.issue(db, world.staff_nt, enrol(db, cw.cls, neighbour), cfg, TODAY)
    db.commit()
    token = token_of(client, db, world, cert)
    assert verify_with_status(client, cfg, token) == "ok"
    services.change_status(db, world.city_admin, cert, "suspend", "under_investigation", "", TODAY)
    db.commit()
    assert verify_with_status(client, cfg, token) == "suspension"
    services.change_status(db, world.city_admin, cert, "revoke", "false_information", "", TODAY)
    db.commit()
    assert verify_with_status(client, cfg, token) == "revocation"
    assert verify_with_status(client, cfg, export.credential_jwt(other, cfg)) == "ok"  # its neighbour's bit is untouched


def test_verifiers_status_list_signature_fails_when_tampered(client, cert, cfg):
    token = client.get("/status-lists/revocation").get_data(as_text=True)
    jwk = key_of(client, cfg, token)
    head, payload, sig = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["credentialSubject"]["encodedList"] = "uH4sIAAAAAAAAA"
    forged = head + "." + base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode() + "." + sig
    pyjwt.decode(token, pyjwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(forged, pyjwt.PyJWK(jwk).key, algorithms=["EdDSA"])
    assert client.get("/status-lists/nonsense").status_code == 404


def test_verifiers_status_cli_reads_a_downloaded_status_list(client, db, world, cert, cfg, tmp_path, capsys):
    from certificates import verify

    keys_file = tmp_path / "keys.json"
    keys_file.write_text(client.get("/.well-known/cqo-certificate-keys.json").get_data(as_text=True), encoding="utf-8")
    link = services.verify_url(cert, cfg.base_url)

    def run(*extra) -> tuple[int, dict]:
        code = verify.main([link, "--keys", str(keys_file), "--json", *extra])
        return code, json.loads(capsys.readouterr().out)

    def download(name: str) -> str:
        path = tmp_path / name
        path.write_text(client.get(f"/status-lists/{name}").get_data(as_text=True), encoding="utf-8")
        return str(path)

    code, out = run("--status-list", download("revocation"), "--status-index", str(cert.status_list_index))
    assert code == 0 and out["status"]["state"] == "clear"
    assert "状态列表更新于" in out["status"]["message"] and "之后的撤销无法得知" in out["status"]["message"]
    code, out = run("--status-list", download("revocation"))  # the index unknown: the age, never "clear"
    assert code == 0 and out["status"]["state"] == "unknown" and "之后的撤销无法得知" in out["status"]["message"]

    services.change_status(db, world.city_admin, cert, "revoke", "false_information", "", TODAY)
    db.commit()
    code, out = run("--status-list", download("revocation"), "--status-index", str(cert.status_list_index))
    assert code == verify.EXIT_STATUS and out["status"]["state"] == "revoked"

    # A list not signed by a published key is not believed.
    forged = tmp_path / "forged"
    head, body, sig = (tmp_path / "revocation").read_text().split(".")
    forged.write_text(f"{head}.{body}.{sig[:10]}{'B' if sig[10] == 'A' else 'A'}{sig[11:]}", encoding="utf-8")
    code, out = run("--status-list", str(forged), "--status-index", str(cert.status_list_index))
    assert out["status"]["state"] == "invalid" and code == 0
