"""Issue 16, recognition across provinces: two deployments on this machine — the Jiangsu demo (the session's
live server) and a Fujian demo (its own database and its own demo key set, ``DEMO_PROVINCE=350000``). Each
system administrator adds the other to the partner trust list through the page, pasting the other's published
keys; then a phone scans one province's printed certificate at the other: the signature checks with the
partner's keys, the status comes from the partner's signed status list (at the index the printed code carries),
and a revoked certificate is refused. Both ways."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import select
from werkzeug.serving import make_server

from certificates import compact, keys, partners, services
from certificates.models import Certificate
from lms.db import Base
from lms.features import import_models
from tests import dbutil
from tests.conftest import make_app
from tests.e2e.conftest import _buffered, click_to, e2e_login


@pytest.fixture(scope="module")
def fujian_server(database_url, tmp_dir):
    """The Fujian deployment: a fresh database with the demo seeded as Fujian, served on its own port."""
    url = dbutil.fresh_url(database_url, "e2efj", tmp_dir)
    # Each server asks the other for status lists while both share the test machine's cores with the browser (and,
    # in CI, with the other database's suite): a generous wait, so that a slow answer is not read as "unknown".
    app = make_app(url, tmp_dir / "e2e-fj", RATELIMIT_ENABLED=True, DEMO_PROVINCE="350000", PARTNER_STATUS_TIMEOUT=30.0)
    import_models()
    Base.metadata.create_all(app.extensions["lms_db"].engine)
    from lms import demo
    from lms.db import db

    with app.app_context():
        with db.job_session() as s:
            demo.seed(s)
    server = make_server("127.0.0.1", 0, _buffered(app), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    app.config["PUBLIC_BASE_URL"] = base
    yield app, base
    server.shutdown()
    thread.join(timeout=5)
    app.extensions["lms_db"].engine.dispose()
    partners.forget_status_lists()


def _printed(app, base: str, status: str) -> tuple[str, Certificate]:
    """The printed QR link (upper-case scheme and host, compact format 2) of the demo's first certificate in
    ``status``, as the deployment at ``base`` prints it."""
    from lms.db import db

    with app.app_context():
        cert = db.session.scalars(select(Certificate).where(Certificate.status == status)
                                  .order_by(Certificate.id)).first()
        private = keys.private_key(app.config["CERT_KEY_DIR"], cert.key_id)
        link = compact.qr_url(base, compact.sign(private, services.printed_fields(cert)))
        db.session.expunge(cert)
        return link, cert


def _add_partner(browser, base: str, name: str, partner_base: str) -> None:
    """The system administrator of ``base`` adds ``partner_base`` to the trust list, on the page."""
    ctx = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai")
    try:
        page = ctx.new_page()
        page.set_default_timeout(15000)
        keys_text = page.request.get(f"{partner_base}/.well-known/cqo-certificate-keys.json").text()
        e2e_login(page, base, "admin")
        page.goto(f"{base}/certificates/partners")
        page.fill("#name", name)
        page.fill("#base_url", partner_base)
        page.fill("#keys", keys_text)
        page.fill("#agreement_note", "苏闽首席质量官证书互认协议（示例），2026-11-01 签订")
        click_to(page, "#partner-submit")
        page.wait_for_selector(f"#partners td:text-is('{partner_base}')")
    finally:
        ctx.close()


def _scan_at(page, base: str, link: str) -> dict:
    """What the verify page of ``base`` says of a partner's printed link (the phone pastes or scans it in)."""
    page.goto(f"{base}/verify-partner")
    page.fill("#link", link)
    click_to(page, "#partner-verify-submit")  # and its stylesheets: the tests measure the page's tap targets
    result = page.locator("#partner-result")
    result.wait_for()
    return {k: result.get_attribute(f"data-{k}") for k in ("partner", "signature", "status", "accepted")}


def test_verifiers_cross_province_both_ways(browser, phone_page, live_server, e2e_app, fujian_server, monkeypatch):
    fj_app, fj_base = fujian_server
    monkeypatch.setitem(e2e_app.config, "PARTNER_STATUS_TIMEOUT", 30.0)
    js_valid, js_cert = _printed(e2e_app, live_server, "valid")
    js_revoked, _ = _printed(e2e_app, live_server, "revoked")
    fj_valid, fj_cert = _printed(fj_app, fj_base, "valid")
    fj_revoked, _ = _printed(fj_app, fj_base, "revoked")
    assert js_cert.key_id.startswith("demo-") and not js_cert.key_id.startswith("demo-fj-")
    assert fj_cert.key_id.startswith("demo-fj-") and fj_cert.snapshot["region"] == "福建省"
    partners.forget_status_lists()

    # Before the agreement, neither recognises the other.
    assert _scan_at(phone_page, fj_base, js_valid)["partner"] == "no"

    _add_partner(browser, fj_base, "江苏省（示例）", live_server)
    _add_partner(browser, live_server, "福建省（示例）", fj_base)

    page = phone_page
    # A Jiangsu certificate on the Fujian deployment, and a Fujian one on the Jiangsu deployment.
    for at, link, cert in ((fj_base, js_valid, js_cert), (live_server, fj_valid, fj_cert)):
        seen = _scan_at(page, at, link)
        assert seen == {"partner": "yes", "signature": "valid", "status": "valid", "accepted": "yes"}, (at, seen)
        assert page.locator("#cert-number").inner_text() == cert.number
        assert page.locator("#holder-name").inner_text() == cert.holder_name
        assert "之后的撤销无法得知" in page.locator("#partner-result").inner_text()
        assert page.locator("#partner-verify-submit").bounding_box()["height"] >= 44
    # Revoked at home: refused abroad.
    for at, link in ((fj_base, js_revoked), (live_server, fj_revoked)):
        seen = _scan_at(page, at, link)
        assert seen["signature"] == "valid" and seen["status"] == "revoked" and seen["accepted"] == "no", (at, seen)
        assert "不予认可" in page.locator("#partner-result").inner_text()
    # A Jiangsu certificate does not pass for a Fujian one: on Jiangsu's own partner check it names no partner,
    # and the Fujian keys do not verify it.
    assert _scan_at(page, live_server, js_valid)["partner"] == "no"
