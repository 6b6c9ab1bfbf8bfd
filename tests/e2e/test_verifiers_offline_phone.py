"""Issue 16: the verify page is installable and verifies on the phone without network. A phone opens one
certificate's link (the service worker installs and keeps the trust list and the status lists), goes offline,
opens another certificate's link — old ``/v/<cid>#<signed part>`` and compact ``/C/<TOKEN>`` forms — and sees the
offline verdict computed in the browser; a tampered link is refused offline too."""
from __future__ import annotations

import datetime as dt
import time

from sqlalchemy import select

from certificates import compact, keys, services
from certificates.models import Certificate


def _links(e2e_app, base):
    from lms.db import db

    with e2e_app.app_context():
        certs = db.session.scalars(select(Certificate).where(Certificate.status == "valid").order_by(Certificate.id)).all()
        assert len(certs) >= 2
        first, second = certs[0], certs[1]
        private = keys.private_key(e2e_app.config["CERT_KEY_DIR"], second.key_id)
        token = compact.sign(private, services.signed_fields(second))
        return (f"{base}/v/{first.cid}#{first.signed_part}", f"{base}/v/{second.cid}#{second.signed_part}",
                f"{base}/C/{token}", second.number, second.holder_name, second.valid_until)


def _revoked_printed_link(e2e_app, base) -> str:
    """The printed code of the demo's revoked certificate (compact format 2: with its status-list index), as the
    QR holds it: scheme and host in upper case."""
    from lms.db import db

    with e2e_app.app_context():
        cert = db.session.scalars(select(Certificate).where(Certificate.status == "revoked")).first()
        private = keys.private_key(e2e_app.config["CERT_KEY_DIR"], cert.key_id)
        return compact.qr_url(base, compact.sign(private, services.printed_fields(cert)))


def _photo_link(e2e_app, base) -> tuple[str, str]:
    """A valid certificate's printed code as a province that prints the photo signs it (format 3), with a
    fingerprint, and that fingerprint."""
    from lms.db import db

    with e2e_app.app_context():
        cert = db.session.scalars(select(Certificate).where(Certificate.status == "valid").order_by(Certificate.id)).all()[1]
        private = keys.private_key(e2e_app.config["CERT_KEY_DIR"], cert.key_id)
        fp = "1A2B-3C4D-5E6F-7081"
        return compact.qr_url(base, compact.sign(private, {**services.printed_fields(cert), "photo": fp})), fp


def _poll(page, predicate: str, reload: bool = False, seconds: float = 15) -> None:
    """Wait until ``predicate`` (a JS function, awaited) is true in the page; with ``reload``, reload between tries
    (a service worker controls a page only from its next load)."""
    deadline = time.monotonic() + seconds
    while not page.evaluate(predicate):
        assert time.monotonic() < deadline, f"timed out waiting for {predicate}"
        if reload:
            page.reload()
        else:
            page.wait_for_timeout(200)


def test_verifiers_offline_phone(phone_page, live_server, e2e_app):
    base = live_server
    first, second, compact_link, number, name, valid_until = _links(e2e_app, base)
    page = phone_page
    page.goto(first)
    page.wait_for_selector('#sig-result[data-state="valid"]')
    assert page.locator("h1").count() == 1
    assert page.locator('link[rel="manifest"]').count() == 1
    manifest = page.request.get(f"{base}/verify.webmanifest").json()
    assert manifest["display"] == "standalone" and {i["sizes"] for i in manifest["icons"]} >= {"192x192", "512x512"}
    # The service worker takes control and keeps what the offline verifier needs.
    # Polled from here with page.evaluate: wait_for_function compiles its predicate inside the page, which the
    # page's CSP (no 'unsafe-eval') forbids as soon as it has to poll.
    _poll(page, "() => navigator.serviceWorker.controller !== null", reload=True)
    _poll(page, "() => caches.open('cqo-verify-v2').then(c => c.match('/status-lists/revocation')).then(r => !!r)")

    page.context.set_offline(True)
    try:
        for link in (second, compact_link):
            page.goto(link)
            page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
            expected = "valid" if valid_until.isoformat() >= dt.date.today().isoformat() else "expired"
            assert page.locator("#offline").get_attribute("data-verdict") == expected, link
            assert "未联网" in page.locator("#offline-banner").inner_text()
            assert page.locator("#cert-number").inner_text() == number
            assert page.locator("#holder-name").inner_text() == name
            assert "状态列表更新于" in page.locator("#offline-status").inner_text()
            assert "之后的撤销无法得知" in page.locator("#offline-status").inner_text()
            assert page.locator("h1").count() == 1
            compare = page.locator("#offline-compare").inner_text()  # always last, as on the command line
            assert compare.startswith("请核对：") and number in compare and name in compare
            box = page.locator("#offline-retry").bounding_box()
            assert box["height"] >= 44
        # Where the province prints the holder's photo, the code (format 3) signs its fingerprint: the phone shows it
        # and ends with the photo line, word for word the command line's; a changed fingerprint is refused.
        photo_link, fp = _photo_link(e2e_app, base)
        page.goto(photo_link)
        page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
        assert page.locator("#offline").get_attribute("data-verdict") == expected
        assert page.locator("#photo-fp").inner_text() == fp and page.locator("#photo-fp-row").is_visible()
        assert page.locator("#offline-compare").inner_text().endswith(f"请核对持证人照片：指纹 {fp}")
        payload, body, sig = compact.split(compact.token_from_url(photo_link))
        at = body.index(payload.photo)
        bent = compact.b32encode(body[:at] + bytes([body[at] ^ 1]) + body[at + 1:] + sig)
        page.goto(f"{base}/C/{bent}")
        page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
        assert page.locator("#offline").get_attribute("data-verdict") == "invalid"
        # A tampered link (one letter of the signature changed) is refused offline.
        head, _, sig = second.partition("#")
        body, dot, s = sig.partition(".")
        bad = head + "#" + body + dot + ("A" if s[0] != "A" else "B") + s[1:]
        page.goto(bad)
        page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
        assert page.locator("#offline").get_attribute("data-verdict") == "invalid"
        # The printed code carries the certificate's status-list index: offline, the kept list refuses a revoked one.
        revoked = _revoked_printed_link(e2e_app, base)
        assert revoked.startswith("HTTP://127.0.0.1:")
        page.goto(revoked)
        page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
        assert page.locator("#offline").get_attribute("data-verdict") == "revoked"
        assert "已被撤销" in page.locator("#offline-verdict").inner_text()
        assert "状态列表更新于" in page.locator("#offline-status").inner_text()
        # The pure-JS fallback (@noble/ed25519, kept by the service worker) gives the same verdicts offline.
        page.add_init_script("window.__cqoForceNoble = true")
        page.goto(compact_link)
        page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
        assert page.locator("#offline").get_attribute("data-verdict") == expected
        page.goto(bad)
        page.wait_for_selector('#offline[data-verdict]:not([data-verdict="pending"])')
        assert page.locator("#offline").get_attribute("data-verdict") == "invalid"
    finally:
        page.context.set_offline(False)
