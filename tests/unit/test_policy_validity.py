"""Issue 14, the validity point: 「Certificates expire after 3 years with no renewal … No seed sets a validity.」
A certificate's validity is a province setting (本省自定) with none by default: issued with none, a certificate has
no end date (``valid_until`` None, 长期有效) in the database, the signed fields, the compact QR (the reserved
valid-until value ``compact.NO_END`` inside formats 1 and 2), the offline verdict, the print and the expiry jobs;
renewal applies only where a validity is set."""
import datetime as dt

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

import pypdfium2 as pdfium

from certificates import compact, keys, services, signing, verdicts
from certificates.services import renewal
from talent.models import PoolStatus, TalentEntry
from talent.services import entries
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY

FAR = TODAY + dt.timedelta(days=365 * 40)  # long after any validity a province might set


def _no_validity_certificate(db, world, cw, cert_cfg, completion_rule):
    cw.programme.certificate_validity_years = None
    db.flush()
    completion_rule("test_ok")
    return services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)


def _published(cert_cfg) -> dict:
    return signing.public_keys_from_document(keys.public_document(cert_cfg.key_dir))


def test_policy_validity_none_issues_a_certificate_without_end_date(db, world, cw, cert_cfg, completion_rule):
    cert = _no_validity_certificate(db, world, cw, cert_cfg, completion_rule)
    db.expire_all()
    assert cert.valid_until is None
    fields = services.signed_fields(cert)
    assert fields["valid_until"] is None
    checked = signing.check(cert.signed_part, _published(cert_cfg))  # the JSON signed part carries null
    assert checked.ok and checked.fields == fields
    assert services.signature_matches(cert, cert.signed_part, keys.public_document(cert_cfg.key_dir))
    # never expires: not by the job, not as a verifier sees it, and it still counts as a tier in force
    assert services.expire_due(db, FAR) == 0
    assert services.effective_status(cert, FAR).value == "valid"
    assert services.has_tier_in_force(db, world.trainee.id, cert.tier, FAR)


def test_policy_validity_set_by_the_province_gives_an_end_date(db, world, cw, cert_cfg, completion_rule):
    cw.programme.certificate_validity_years = 5
    db.flush()
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    assert cert.valid_until == services.valid_until_for(TODAY, 5)
    assert services.expire_due(db, cert.valid_until + dt.timedelta(days=1)) == 1


def test_policy_validity_reissue_keeps_no_end_date(db, world, cw, cert_cfg, completion_rule):
    cert = _no_validity_certificate(db, world, cw, cert_cfg, completion_rule)
    cw.programme.certificate_validity_years = 3  # the province sets one later: the correction keeps the old terms
    db.flush()
    new = services.reissue(db, world.staff_nt, cert, "姓名录入有误，更正后换发", cert_cfg, TODAY)
    assert new.valid_until is None


def test_policy_validity_compact_code_carries_no_end_date(db, world, cw, cert_cfg, completion_rule):
    cert = _no_validity_certificate(db, world, cw, cert_cfg, completion_rule)
    url = services.qr_url(cert, cert_cfg)
    token = url.rsplit("/", 1)[1]
    payload, body, _sig = compact.split(token)
    assert body[0] >> 4 == 2 and int.from_bytes(body[7:9], "big") == compact.NO_END  # format 2, no new format
    assert payload.valid_until is None
    checked = compact.verify(token, _published(cert_cfg))
    assert checked.ok and checked.fields["valid_until"] is None
    assert {k: v for k, v in checked.fields.items() if k != "status_index"} == services.signed_fields(cert)
    verdict = verdicts.offline_verdict(checked, FAR)
    assert verdict.code == "valid" and verdict.ok
    assert "  有效期至：长期有效" in verdict.details
    assert verdict.compare.endswith(f"{cert.issued_on.isoformat()} 至 长期有效）")
    assert not any("到期" in line for line in verdict.lines())


def test_policy_validity_reserved_value_in_formats_1_and_2():
    key = Ed25519PrivateKey.generate()
    published = {"k1": {"key": key.public_key(), "valid_from": "2020-01-01", "valid_until": None}}
    base = {"holder_name": "王芳", "number": "320600-B-2026-00001", "tier": "basic", "issued_on": "2026-03-01",
            "valid_until": None, "kid": "k1"}
    for extra, version in (({}, 1), ({"status_index": 300}, 2)):
        token = compact.sign(key, {**base, **extra})
        payload, body, _sig = compact.split(token)
        assert body[0] >> 4 == version and body[7:9] == b"\xff\xff"
        res = compact.verify(token, published)
        assert res.ok and res.fields["valid_until"] is None and res.fields["issued_on"] == "2026-03-01"
    # a real date never takes the reserved value, and a signed date still reads as that date
    with pytest.raises(compact.CompactError) as err:
        compact.sign(key, {**base, "valid_until": "2179-06-06"})
    assert err.value.reason == "bad_date"
    dated = compact.verify(compact.sign(key, {**base, "valid_until": "2029-02-28"}), published)
    assert dated.fields["valid_until"] == "2029-02-28"
    assert verdicts.offline_verdict(dated, dt.date(2029, 3, 1)).code == "expired"
    # an issued-on of the reserved value is refused on reading, as the phone refuses it
    good = compact.pack(compact.payload_for({**base, "status_index": 1}))
    bad = good[:5] + b"\xff\xff" + good[7:]
    with pytest.raises(compact.CompactError) as err:
        compact.unpack(bad)
    assert err.value.reason == "bad_date"


def test_policy_validity_print_says_long_term(db, world, cw, cert_cfg, completion_rule):
    cert = _no_validity_certificate(db, world, cw, cert_cfg, completion_rule)
    args = services.render_args(cert, cert_cfg)
    assert args["valid_until"] == verdicts.NO_END == "长期有效"
    pdf = pdfium.PdfDocument(services.certificate_file(cert, "pdf", cert_cfg).data)
    try:
        text = pdf[0].get_textpage().get_text_range()
    finally:
        pdf.close()
    assert "长期有效" in text and "有效期至" in text


def test_policy_validity_renewal_only_where_a_validity_is_set(db, world, cw, cert_cfg, completion_rule):
    cert = _no_validity_certificate(db, world, cw, cert_cfg, completion_rule)
    entries.enter_pool(db, cert)
    assert renewal.validity_years(db, cert) is None
    assert entries.renew_certificates(db, FAR, cert_cfg) == {"renewed": 0, "not_renewed": 0}
    assert entries.expire_certificates(db, FAR) == 0
    entry = db.scalar(select(TalentEntry).where(TalentEntry.user_id == world.trainee.id))
    assert entry.status == PoolStatus.active and entry.certificates[0].valid_until is None
    assert entry.certificates[0].in_force(FAR)
