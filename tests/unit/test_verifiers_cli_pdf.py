"""The offline verifier tells the truth (expiry, key window, what to compare) on the printed links, and the PDF
carries its words in embedded, subset fonts (issue 16). pdffonts and pdftotext are poppler-utils (.ci/run)."""
from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import compact, keys, rendering, services, signing, verdicts, verify
from tests.cert_factories import cert_cfg, completion_rule, cw  # noqa: F401
from tests.conftest import TODAY

ROOT = Path(__file__).resolve().parents[2]
KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
KID = "cqo-20260101-test"
FIELDS = {"holder_name": "欧阳建国", "number": "320600-B-2026-00001", "tier": "advanced", "issued_on": "2026-03-02",
          "valid_until": "2029-03-01", "kid": KID}


def _keys(valid_from="2026-01-01", valid_until=None):
    return {KID: {"key": KEY.public_key(), "valid_from": valid_from, "valid_until": valid_until}}


def _url(fields=FIELDS):
    return compact.qr_url("https://cqo.example.cn", compact.sign(KEY, fields))


def test_verifiers_cli_genuine_ends_with_what_to_compare():
    code, v = verify.verify_link(_url(), _keys(), dt.date(2027, 1, 1))
    assert code == verify.EXIT_OK and v.ok and v.code == "valid"
    lines = v.lines()
    assert lines[0].startswith("签名有效") and "欧阳建国" in lines[-1] and "320600-B-2026-00001" in lines[-1]
    assert "2026-03-02" in lines[-1] and "2029-03-01" in lines[-1] and lines[-1].startswith("请核对")
    assert verify.verify_link(_url().lower(), _keys(), dt.date(2027, 1, 1))[0] == verify.EXIT_OK  # typed by hand


def test_verifiers_cli_reports_expiry():
    code, v = verify.verify_link(_url(), _keys(), dt.date(2029, 3, 2))
    assert code == verify.EXIT_EXPIRED and not v.ok and "已过期" in v.headline and "未被篡改" not in v.headline
    assert v.lines()[-1].startswith("请核对")
    assert verify.verify_link(_url(), _keys(), dt.date(2029, 3, 1))[0] == verify.EXIT_OK  # the last valid day


def test_verifiers_cli_refuses_dates_outside_the_key_window():
    before = {**FIELDS, "issued_on": "2025-12-31"}
    code, v = verify.verify_link(_url(before), _keys(), dt.date(2026, 6, 1))
    assert code == verify.EXIT_FORGED and v.code == "outside_key_window" and not v.ok
    after = {**FIELDS, "issued_on": "2026-08-01", "valid_until": "2029-07-31"}
    assert verify.verify_link(_url(after), _keys(valid_until="2026-07-01"), dt.date(2026, 9, 1))[1].code == \
        "outside_key_window"
    # the old fragment link: signing.check looked only at the window's end
    old = "https://cqo.example.cn/v/" + "Q" * 24 + "#" + signing.sign(KEY, before)
    assert verify.verify_link(old, _keys(), dt.date(2026, 6, 1))[1].code == "outside_key_window"
    assert verify.verify_link(old.replace("2025-12-31", "x"), _keys(), dt.date(2026, 6, 1))[0] != verify.EXIT_OK


def test_verifiers_cli_unknown_key_forged_unreadable_still_end_with_advice():
    other = Ed25519PrivateKey.generate()
    cases = {"unknown_key": compact.qr_url("https://cqo.example.cn", compact.sign(other, {**FIELDS, "kid": "x"})),
             "forged": compact.qr_url("https://cqo.example.cn", compact.sign(other, FIELDS)),
             "unreadable": "https://cqo.example.cn/C/AAAA"}
    for expected, link in cases.items():
        code, v = verify.verify_link(link, _keys(), dt.date(2027, 1, 1))
        assert v.code == expected and code == verify.EXIT_CODES[expected] and code != verify.EXIT_OK
        assert v.lines()[-1] == verdicts.COMPARE_NOTHING


@pytest.fixture
def printed(db, world, cw, cert_cfg, completion_rule, tmp_path):
    completion_rule("test_ok")
    cert = services.issue(db, world.staff_nt, cw.e_wang, cert_cfg, TODAY)
    keyfile = tmp_path / "keys.json"
    keyfile.write_text(json.dumps(keys.public_document(cert_cfg.key_dir)), encoding="utf-8")
    args = services.render_args(cert, cert_cfg)
    png, pdf = tmp_path / "c.png", tmp_path / "c.pdf"
    png.write_bytes(rendering.render_png(**args))
    pdf.write_bytes(rendering.render_pdf(**args))
    return cert, args["url"], keyfile, png, pdf


def test_verifiers_cli_reads_compact_link_png_and_pdf(printed):
    cert, url, keyfile, png, pdf = printed
    assert "/C/" in url
    for source in (url, png, pdf):
        res = subprocess.run([sys.executable, "-m", "certificates.verify", str(source), "--keys", str(keyfile)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert res.returncode == 0, res.stdout + res.stderr
        out = res.stdout.strip().splitlines()
        assert out[0].startswith("签名有效") and cert.number in res.stdout and out[-1].startswith("请核对")


def _tool(name: str) -> str:
    path = shutil.which(name)
    assert path, f"{name} is missing: install Debian's poppler-utils (.ci/run, scripts/system-deps.sh)"
    return path


def test_verifiers_pdf_fonts_embedded_and_text_complete(printed):
    cert, _url, _keyfile, _png, pdf = printed
    fonts = subprocess.run([_tool("pdffonts"), str(pdf)], capture_output=True, text=True, check=True).stdout
    rows = fonts.strip().splitlines()[2:]
    assert rows, fonts
    for row in rows:  # name type encoding emb sub uni ...
        emb, sub, uni = row.split()[-5:-2]
        assert (emb, sub, uni) == ("yes", "yes", "yes"), fonts
    text = subprocess.run([_tool("pdftotext"), "-layout", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    snap = cert.snapshot
    for needed in (cert.holder_name, cert.number, "发证单位：" + snap["issuer"], "同志参加", "特发此证", snap["programme"],
                   cert.valid_until.isoformat(), "首席质量官结业证书"):
        assert needed in text, (needed, text)
    info = subprocess.run([_tool("pdfinfo"), str(pdf)], capture_output=True, text=True, check=True).stdout
    assert f"Author:          {snap['issuer']}" in info and cert.number in info and "Keywords:" in info


def test_verifiers_pdf_name_is_where_it_is_printed(printed):
    """Selecting the name highlights the name: its text box lies over the printed glyphs (within 1 mm)."""
    cert, _url, _keyfile, png, pdf = printed
    html = subprocess.run([_tool("pdftotext"), "-bbox", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    import re

    boxes = {m.group(5): tuple(float(m.group(i)) for i in range(1, 5)) for m in re.finditer(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">([^<]*)</word>', html)}
    number_box = boxes[cert.number]
    from PIL import Image

    page = Image.open(png).convert("L")
    px = rendering.DPI / 72
    x0, y0, x1, y1 = (round(v * px) for v in number_box)
    ink = page.crop((x0, y0, x1, y1)).point(lambda v: 255 if v < 128 else 0).getbbox()
    assert ink is not None, "no printed ink under the number's text box"
    # the ink fills the box's width (the string is stretched to the printed width), within 1 mm
    assert ink[0] <= rendering.mm(1) and (x1 - x0) - ink[2] <= rendering.mm(1)


def test_verifiers_public_base_url_demo_is_where_make_run_serves(monkeypatch):
    """The demo prints the address `make run` serves on; production has no default (issuing then refuses)."""
    import re

    from lms import config

    monkeypatch.delenv("PUBLIC_BASE_URL", raising=False)
    monkeypatch.delenv("LMS_ENV", raising=False)
    m = re.search(r"flask run --host (\S+) --port (\d+)", (ROOT / "Makefile").read_text(encoding="utf-8"))
    assert config.load()["PUBLIC_BASE_URL"] == f"http://{m.group(1)}:{m.group(2)}"
    monkeypatch.setenv("LMS_ENV", "production")
    assert config.load()["PUBLIC_BASE_URL"] == ""


def test_verifiers_index_cli_reads_the_status_bit_without_being_told(printed, db, world, cert_cfg, tmp_path, capsys):
    """The printed code carries the status-list index: a downloaded list refuses a revoked certificate offline
    with no --status-index."""
    from certificates import status_list

    cert, url, keyfile, _png, _pdf = printed

    def run() -> tuple[int, dict]:
        lst = tmp_path / "revocation.jwt"
        lst.write_text(status_list.credential_jwt(db, cert_cfg, "revocation"), encoding="utf-8")
        code = verify.main([url, "--keys", str(keyfile), "--status-list", str(lst), "--json"])
        return code, json.loads(capsys.readouterr().out)

    code, out = run()
    assert code == verify.EXIT_OK and out["status"]["state"] == "clear", out
    services.change_status(db, world.city_admin, cert, "revoke", "false_information", "", TODAY)
    db.flush()
    code, out = run()
    assert code == verify.EXIT_STATUS and out["verdict"] == "revoked" and out["status"]["state"] == "revoked"
    assert "之后的撤销无法得知" in out["status"]["message"] and out["lines"][-1].startswith("请核对")


def test_verifiers_pdfa_2b_structure(printed):
    """What can be checked here of PDF/A-2b (ISO 19005-2, level B) without veraPDF (Java; not in Debian): the
    header, the document ID, the XMP metadata (part 2, conformance B, equivalent to the information dictionary),
    the sRGB OutputIntent with a well-formed ICC profile, every font embedded with a ToUnicode map, only colour
    spaces the output intent covers, no encryption, transparency or scripts. docs/certificates-qr.md lists what a
    validator would still have to check."""
    import xml.etree.ElementTree as ET

    import pypdf

    cert, _url, _keyfile, _png, pdf = printed
    raw = pdf.read_bytes()
    first, second = raw.split(b"\n")[:2]
    assert first == b"%PDF-1.4" and second[:1] == b"%" and all(b >= 128 for b in second[1:5])  # §6.1.2
    reader = pypdf.PdfReader(str(pdf))
    trailer, root = reader.trailer, reader.trailer["/Root"]
    ids = trailer["/ID"]
    assert len(ids) == 2 and len(ids[0]) >= 16 and "/Encrypt" not in trailer  # §6.1.3
    assert not {"/OpenAction", "/AA", "/Names", "/AcroForm"} & set(root)  # no scripts, no actions

    meta = root["/Metadata"].get_object()
    assert meta["/Type"] == "/Metadata" and meta["/Subtype"] == "/XML" and "/Filter" not in meta
    xmp = ET.fromstring(meta.get_data().split(b"?>", 1)[1].rsplit(b"<?xpacket", 1)[0])
    ns = {"pdfaid": "http://www.aiim.org/pdfa/ns/id/", "dc": "http://purl.org/dc/elements/1.1/",
          "xmp": "http://ns.adobe.com/xap/1.0/", "pdf": "http://ns.adobe.com/pdf/1.3/",
          "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#"}
    one = lambda path: xmp.find(".//" + path, ns).text  # noqa: E731
    assert one("pdfaid:part") == "2" and one("pdfaid:conformance") == "B"
    info = reader.metadata
    assert one("dc:title/rdf:Alt/rdf:li") == info["/Title"] == f"首席质量官结业证书 {cert.number}"
    assert one("dc:creator/rdf:Seq/rdf:li") == info["/Author"] == cert.snapshot["issuer"]
    assert one("dc:description/rdf:Alt/rdf:li") == info["/Subject"] and cert.holder_name in info["/Subject"]
    assert one("pdf:Keywords") == info["/Keywords"] and one("pdf:Producer") == info["/Producer"]
    assert one("xmp:CreatorTool") == info["/Creator"]
    issued = cert.issued_on.strftime("%Y%m%d")
    assert info["/CreationDate"] == info["/ModDate"] == f"D:{issued}000000+08'00'"
    assert one("xmp:CreateDate") == one("xmp:ModifyDate") == f"{cert.issued_on.isoformat()}T00:00:00+08:00"

    intents = root["/OutputIntents"]
    assert len(intents) == 1
    intent = intents[0].get_object()
    assert intent["/S"] == "/GTS_PDFA1" and intent["/OutputConditionIdentifier"] == "sRGB IEC61966-2.1"
    icc_stream = intent["/DestOutputProfile"].get_object()
    icc = icc_stream.get_data()
    assert icc_stream["/N"] == 3 and icc[36:40] == b"acsp" and icc[16:20] == b"RGB " and icc[12:16] == b"mntr"
    assert int.from_bytes(icc[:4], "big") == len(icc) and icc[8] <= 4  # ICC version 4 at most (PDF 1.7)

    page = reader.pages[0]
    assert "/Group" not in page  # no transparency group
    fonts = page["/Resources"]["/Font"]
    assert fonts
    for name, ref in fonts.items():
        font = ref.get_object()
        descriptor = font["/FontDescriptor"].get_object()
        assert {"/FontFile", "/FontFile2", "/FontFile3"} & set(descriptor), name  # §6.2.11.4: embedded
        assert "/ToUnicode" in font, name
    for name, ref in page["/Resources"]["/XObject"].items():
        img = ref.get_object()
        space = img["/ColorSpace"]
        base = space[1] if isinstance(space, pypdf.generic.ArrayObject) and space[0] == "/Indexed" else space
        assert base in ("/DeviceRGB", "/DeviceGray"), (name, space)  # covered by the sRGB output intent
        assert "/SMask" not in img and "/Interpolate" not in img, name
    meta_text = subprocess.run([_tool("pdfinfo"), "-meta", str(pdf)], capture_output=True, text=True,
                               check=True).stdout
    assert "<pdfaid:part>2</pdfaid:part>" in meta_text  # poppler reads the same packet
