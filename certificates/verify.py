"""Offline verifier: ``python -m certificates.verify <URL | PNG/JPEG | PDF> --keys cqo-certificate-keys.json``.

Checks a certificate's signature with nothing but the published keys: no database, no network. Takes the
printed link ``HTTPS://HOST/C/<TOKEN>`` or the old ``…/v/<cid>#<signed part>``, or reads the QR code from an
image or a PDF; prints the verdict (``certificates.verdicts``: the same wording as the phone page), the signed
fields and, last, what to compare with the paper. Exits 0 for a genuine certificate in force, 4 for a genuine
but expired one (已过期), 1 for a forged one, one dated outside its key's window or a PDF whose photo is not the
one the code signs (compact format 3), 2 for a key that is not in
the key file, 3 when no complete certificate link can be read, 5 when a downloaded status list
(``--status-list FILE``, repeatable) marks it revoked or suspended, 64 on bad usage. The certificate's index in
the status lists comes from the printed code (compact format version 2); ``--status-index N`` is for older codes
that do not carry it. A status list tells revocation only up to its date, which the verdict states; without one,
revocation needs the online page.
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from certificates import compact, rendering, signing, status_verdict, verdicts

EXIT_OK, EXIT_FORGED, EXIT_UNKNOWN_KEY, EXIT_UNREADABLE, EXIT_EXPIRED, EXIT_STATUS, EXIT_USAGE = 0, 1, 2, 3, 4, 5, 64
EXIT_CODES = {"valid": EXIT_OK, "expired": EXIT_EXPIRED, "forged": EXIT_FORGED, "outside_key_window": EXIT_FORGED,
              "photo_mismatch": EXIT_FORGED,
              "unknown_key": EXIT_UNKNOWN_KEY, "unreadable": EXIT_UNREADABLE, "revoked": EXIT_STATUS,
              "suspended": EXIT_STATUS}


def read_links(source: str) -> list[str]:
    """The certificate link(s) in ``source``: a URL as given, or the QR codes found in an image or PDF."""
    path = Path(source)
    if "://" in source or not path.exists():
        return [source]
    data = path.read_bytes()
    if data[:5] == b"%PDF-":
        return rendering.decode_qr_from_pdf(data)
    with Image.open(path) as img:
        img.load()
        return rendering.decode_qr_from_image(img)


def check_link(link: str, keys: dict) -> signing.Checked | None:
    """The signature check of a certificate link: the printed ``…/C/<TOKEN>`` (any case) or the old
    ``…/v/<cid>#<signed part>``. None when the link is neither (or has no signed part). Both forms refuse a
    certificate dated outside its key's window."""
    link = link.strip()
    try:
        token = compact.token_from_url(link)
    except compact.CompactError:
        token = None
    if token is not None:
        return compact.verify(token, keys)
    parts = urlsplit(link)
    segs = parts.path.rstrip("/").split("/")
    if len(segs) < 2 or segs[-2] != "v" or not segs[-1] or not parts.fragment:
        return None
    res = signing.check(parts.fragment, keys)
    start = (keys.get(res.fields["kid"]) or {}).get("valid_from") if res.ok else None
    if start and res.fields["issued_on"] < start[:10]:  # signing.check looks only at the window's end
        return signing.Checked(False, res.fields, "outside_key_window")
    return res


def verify_link(link: str, keys: dict, today: dt.date | None = None,
                status: status_verdict.StatusVerdict | None = None) -> tuple[int, verdicts.Verdict]:
    """Check a certificate link (and a downloaded status list's verdict): the exit code and the verdict."""
    return verdict_for(check_link(link, keys), today, status)


def verdict_for(checked: signing.Checked | None, today: dt.date | None = None,
                status: status_verdict.StatusVerdict | None = None,
                photo_fingerprints: list[str] | None = None) -> tuple[int, verdicts.Verdict]:
    """The exit code and the verdict of a signature check (and a status list's verdict, and the fingerprints of
    the photos in the certificate's PDF)."""
    verdict = verdicts.offline_verdict(checked, today or dt.date.today(), status, photo_fingerprints)
    return EXIT_CODES[verdict.code], verdict


def photo_fingerprints_of(source: str) -> list[str] | None:
    """The fingerprints (``compact.photo_text`` of SHA-256's first 8 bytes) of the JPEG images embedded in a
    certificate's PDF; None for anything but a PDF (a printed page's photo cannot be hashed)."""
    path = Path(source)
    if "://" in source or not path.is_file():
        return None
    data = path.read_bytes()
    if data[:5] != b"%PDF-":
        return None
    return [compact.photo_text(hashlib.sha256(img).digest()[:compact.PHOTO_BYTES])
            for img in rendering.photos_from_pdf(data)]


def status_index_of(checked: signing.Checked | None, given: int | None) -> int | None:
    """The certificate's index in the status lists: as signed in the printed code, else as given by hand."""
    signed = (checked.fields or {}).get("status_index") if checked is not None and checked.ok else None
    return signed if signed is not None else given


def main(argv: list[str] | None = None) -> int:
    """The command line: verify, print, and exit with the verdict's code."""
    ap = argparse.ArgumentParser(prog="python -m certificates.verify", description="离线核验首席质量官证书的签名")
    ap.add_argument("source", help="二维码中的网址，或证书的 PNG/JPEG 图片、PDF 文件")
    ap.add_argument("--keys", required=True, help="公布的密钥文件 cqo-certificate-keys.json")
    ap.add_argument("--json", action="store_true", help="以 JSON 输出")
    ap.add_argument("--status-list", action="append", default=[], metavar="FILE",
                    help="下载的状态列表（/status-lists/revocation、/status-lists/suspension），可重复")
    ap.add_argument("--status-index", type=int, default=None,
                    help="证书在状态列表中的位置（凭证的 statusListIndex）；新版二维码已载明，仅旧版二维码需要")
    try:
        args = ap.parse_args(argv)
    except SystemExit as exc:
        return EXIT_USAGE if exc.code else EXIT_OK
    try:
        keys = signing.public_keys_from_document(json.loads(Path(args.keys).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        print(f"无法读取密钥文件：{exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        links = read_links(args.source)
    except Exception as exc:  # an unreadable file is a verdict, not a crash
        print(f"无法读取文件：{type(exc).__name__}", file=sys.stderr)
        return EXIT_UNREADABLE
    if not links:
        print("无法验证：未在文件中找到二维码", file=sys.stderr)
        return EXIT_UNREADABLE
    checked = check_link(links[0], keys)
    status = None
    if args.status_list:
        try:
            tokens = [Path(f).read_text(encoding="utf-8") for f in args.status_list]
        except (OSError, UnicodeDecodeError) as exc:
            print(f"无法读取状态列表：{exc}", file=sys.stderr)
            return EXIT_USAGE
        status = status_verdict.status_verdict(tokens, json.loads(Path(args.keys).read_text(encoding="utf-8")),
                                               status_index_of(checked, args.status_index))
    try:
        fingerprints = photo_fingerprints_of(args.source)
    except Exception:  # an unreadable PDF was already reported by read_links; this is only the photo's check
        fingerprints = None
    code, verdict = verdict_for(checked, status=status, photo_fingerprints=fingerprints)
    if args.json:
        print(json.dumps({"valid": verdict.ok, "verdict": verdict.code, "message": verdict.headline,
                          "fields": verdict.fields, "lines": verdict.lines(),
                          "status": None if status is None else {
                              "state": status.state, "message": status.message,
                              "updated_at": status.updated_at.isoformat() if status.updated_at else None}},
                         ensure_ascii=False))
    else:
        print("\n".join(verdict.lines()))
    return code


if __name__ == "__main__":
    raise SystemExit(main())
