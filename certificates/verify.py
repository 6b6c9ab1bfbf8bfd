"""Offline verifier: ``python -m certificates.verify <URL | PNG/JPEG | PDF> --keys cqo-certificate-keys.json``.

Checks a certificate's signature with nothing but the published keys: no database, no network. Reads the QR
code from an image or a PDF, prints the signed fields and exits 0 for a genuine signature, 1 for a forged
one, 2 for a key that is not in the key file, 3 when no complete certificate link can be read, 4 when a
downloaded status list (``--status-list FILE``, repeatable) marks it revoked or suspended, 64 on bad usage. A
status list tells revocation only up to its date, which the verdict states.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from urllib.parse import urlsplit

from PIL import Image

from certificates import rendering, signing, status_verdict

EXIT_OK, EXIT_FORGED, EXIT_UNKNOWN_KEY, EXIT_UNREADABLE, EXIT_USAGE = 0, 1, 2, 3, 64
EXIT_STATUS = 4  # the signature is genuine but a downloaded status list says revoked or suspended
LABELS = {"holder_name": "持证人", "number": "证书编号", "tier": "培训层级", "issued_on": "发证日期",
          "valid_until": "有效期至", "kid": "签名密钥"}
TIERS = {"basic": "基础", "advanced": "提升", "senior": "高级"}


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


def verify_link(link: str, keys: dict) -> tuple[int, signing.Checked | None, str]:
    """Check a certificate link's signed part: the exit code, the check, and the verdict for people."""
    parts = urlsplit(link.strip())
    segs = parts.path.rstrip("/").split("/")
    if len(segs) < 2 or segs[-2] != "v" or not segs[-1] or not parts.fragment:
        return EXIT_UNREADABLE, None, "链接不完整：缺少证书编号或签名部分"
    res = signing.check(parts.fragment, keys)
    if res.ok:
        return EXIT_OK, res, "签名有效：证书内容由发证机关签发，未被篡改"
    if res.reason == "unknown_key":
        return EXIT_UNKNOWN_KEY, res, "无法验证：签名密钥不在公布的密钥文件中"
    if res.reason == "malformed":
        return EXIT_UNREADABLE, res, "无法验证：签名部分不完整或格式错误"
    if res.reason == "outside_key_window":
        return EXIT_FORGED, res, "无法验证：签名日期不在该密钥的有效期内"
    return EXIT_FORGED, res, "无法验证：签名与内容不符（证书可能被伪造或篡改）"


def main(argv: list[str] | None = None) -> int:
    """The command line: verify, print, and exit with the verdict's code."""
    ap = argparse.ArgumentParser(prog="python -m certificates.verify", description="离线核验首席质量官证书的签名")
    ap.add_argument("source", help="二维码中的网址，或证书的 PNG/JPEG 图片、PDF 文件")
    ap.add_argument("--keys", required=True, help="公布的密钥文件 cqo-certificate-keys.json")
    ap.add_argument("--json", action="store_true", help="以 JSON 输出")
    ap.add_argument("--status-list", action="append", default=[], metavar="FILE",
                    help="下载的状态列表（/status-lists/revocation、/status-lists/suspension），可重复")
    ap.add_argument("--status-index", type=int, default=None, help="证书在状态列表中的位置（凭证的 statusListIndex）")
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
    code, res, message = verify_link(links[0], keys)
    fields = res.fields if res is not None and res.ok else None
    status = None
    if args.status_list:
        try:
            tokens = [Path(f).read_text(encoding="utf-8") for f in args.status_list]
        except (OSError, UnicodeDecodeError) as exc:
            print(f"无法读取状态列表：{exc}", file=sys.stderr)
            return EXIT_USAGE
        keys_doc = json.loads(Path(args.keys).read_text(encoding="utf-8"))
        status = status_verdict.status_verdict(tokens, keys_doc, args.status_index)
        if code == EXIT_OK and status.state in ("revoked", "suspended"):
            code = EXIT_STATUS
    if args.json:
        print(json.dumps({"valid": code == EXIT_OK, "message": message, "fields": fields,
                          "status": None if status is None else {
                              "state": status.state, "message": status.message,
                              "updated_at": status.updated_at.isoformat() if status.updated_at else None}},
                         ensure_ascii=False))
    else:
        print(message)
        for k, v in (fields or {}).items():
            print(f"  {LABELS[k]}：{TIERS.get(v, v) if k == 'tier' else v}")
        if status is not None:
            print(status.message)
        if code == EXIT_OK:
            print("提示：离线核验只证明签名真实；证书是否被暂停、撤销或换发，请联网扫码查看。")
    return code


if __name__ == "__main__":
    raise SystemExit(main())
