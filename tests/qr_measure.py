"""Measure which QR designs a phone reads off the printed certificate (the figures in docs/certificates-qr.md).

    /path/to/venv/bin/python -m tests.qr_measure [--seeds 6] [--out results.json]

For each design (payload, error correction level, printed module size) and each camera resolution (pixels per
millimetre of paper in the frame), renders the stand-in page, takes ``--seeds`` simulated phone photos
(``tests.phone_photo``) and counts how many each decoder reads correctly. Needs the requirements-dev.txt
packages (opencv-contrib-python-headless 4.x). Deterministic: same seeds, same figures.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import secrets
import sys

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from certificates import compact, signing
from tests import phone_photo, wechat

FIELDS = {"holder_name": "欧阳建国", "number": "320600-B-2026-00001", "tier": "advanced", "issued_on": "2026-11-22",
          "valid_until": "2029-11-21", "kid": "cqo-20261122-0a1b2c3d"}
HOST = "https://cqo.amr.jiangsu.gov.cn"  # a plausible provincial host (22 characters)


def payloads(key: Ed25519PrivateKey) -> dict[str, str]:
    token = compact.sign(key, FIELDS)
    return {
        # Today's: /v/<cid>#<signed JSON part>, byte mode (what certificates.services.verify_url prints).
        "today": f"{HOST}/v/{secrets.token_urlsafe(18)}#{signing.sign(key, FIELDS)}",
        "compact": compact.qr_url(HOST, token),
        # The alternative: a short link (a 100-bit id in base32) and, separately, an offline code with the token.
        "short_link": f"{HOST.upper()}/V/{compact.b32encode(secrets.token_bytes(13))}",
        "offline_code": "CQO1:" + token,
    }


DESIGNS = [  # (name, payload key, EC level, module mm)
    ("today V14-M 0.381 mm", "today", "M", 0.381),
    ("compact M 0.635 mm", "compact", "M", 0.635),
    ("compact M 0.762 mm", "compact", "M", 0.762),
    ("compact L 0.762 mm", "compact", "L", 0.762),
    ("compact M 0.889 mm", "compact", "M", 0.889),
    ("compact Q 0.635 mm", "compact", "Q", 0.635),
    ("short link M 0.762 mm", "short_link", "M", 0.762),
]
DENSITIES = [2.5, 3.0, 3.5, 4.0, 4.6, 5.5, 7.0]  # camera pixels per mm of paper


def main(argv=None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--out", default="")
    ap.add_argument("--blur", type=float, default=0.7, help="Gaussian blur of the photo, sigma in pixels")
    ap.add_argument("--designs", default="", help="only the designs whose name contains this")
    ap.add_argument("--densities", default="", help="comma-separated pixels per mm (default: DENSITIES)")
    args = ap.parse_args(argv)
    if wechat.missing():
        print(wechat.missing(), file=sys.stderr)
        return 2
    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    texts = payloads(key)
    sizes = {}
    for k, text in texts.items():
        sizes[k] = {"chars": len(text), "alphanumeric": compact.is_alphanumeric(text),
                    **{ec: phone_photo.qr_version(phone_photo.qr_matrix(text, ec)) for ec in "LMQH"}}
    print(json.dumps(sizes, indent=1))
    results = []
    for name, which, ec, module_mm in DESIGNS:
        if args.designs not in name:
            continue
        text = texts[which]
        version = phone_photo.qr_version(phone_photo.qr_matrix(text, ec))
        page = phone_photo.certificate_page(text, module_mm, ec)
        dpi = phone_photo.PAGE_DPI
        width_mm = (17 + 4 * version + 2 * phone_photo.QUIET_ZONE) * round(module_mm / 25.4 * dpi) * 25.4 / dpi
        for density in ([float(v) for v in args.densities.split(",")] if args.densities else DENSITIES):
            fill = density / min(1920 / 297, 1080 / 210)
            prof = phone_photo.Profile(f"{density}px/mm", (1920, 1080), fill, blur_px=args.blur)
            ok = {d: 0 for d in wechat.DECODERS}
            for seed in range(args.seeds):
                photo = phone_photo.photograph(page, dpi, prof, seed=seed)
                for d, fn in wechat.DECODERS.items():
                    ok[d] += text in fn(photo)
            row = {"design": name, "blur_px": args.blur, "version": version, "ec": ec, "module_mm": module_mm,
                   "printed_mm": round(width_mm, 1), "px_per_mm": density,
                   "px_per_module": round(density * module_mm, 2), "n": args.seeds, **ok}
            results.append(row)
            print(json.dumps(row, ensure_ascii=False), flush=True)
    if args.out:
        with open(args.out, "w", encoding="utf-8") as fh:
            json.dump({"when": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "sizes": sizes,
                       "results": results}, fh, ensure_ascii=False, indent=1)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
