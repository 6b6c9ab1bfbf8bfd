"""Decode QR codes the way verifiers' phones do: WeChat's engine (OpenCV's ``wechat_qrcode`` with WeChat's CNN
detector and super-resolution models, vendored in ``tests/assets/wechat_qrcode``) and zxing-cpp (the engine
behind many Android scanners). OpenCV's classic ``QRCodeDetector`` is here too, for the record.

Needs ``opencv-contrib-python-headless`` 4.x (requirements-dev.txt); ``missing()`` says why the decoders cannot
run, for ``pytest.mark.skipif``.
"""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from PIL import Image

MODEL_DIR = Path(__file__).resolve().parent / "assets" / "wechat_qrcode"
MODEL_MD5 = {  # as opencv_contrib's modules/wechat_qrcode/CMakeLists.txt checks them (see the README there)
    "detect.prototxt": "6fb4976b32695f9f5c6305c19f12537d",
    "detect.caffemodel": "238e2b2d6f3c18d6c3a30de0c31e23cf",
    "sr.prototxt": "69db99927a70df953b471daaba03fbef",
    "sr.caffemodel": "cbfcd60361a73beb8c583eea7e8e6664",
}


def missing() -> str | None:
    """Why the decoders cannot run here, or None."""
    try:
        import cv2
        import numpy  # noqa: F401  (comes with opencv)
    except ImportError:
        return "opencv-contrib-python-headless is not installed (requirements-dev.txt)"
    if not hasattr(cv2, "wechat_qrcode_WeChatQRCode"):
        return "this OpenCV has no wechat_qrcode module: install opencv-contrib-python-headless, not opencv-python"
    if int(cv2.__version__.split(".")[0]) >= 5:
        return f"OpenCV {cv2.__version__}: version 5 dropped the Caffe models wechat_qrcode loads here; pin 4.x"
    try:
        import zxingcpp  # noqa: F401
    except ImportError:
        return "zxing-cpp is not installed"
    return None


@functools.lru_cache(maxsize=1)
def wechat_detector():
    """WeChat's detector with its CNN models (checked against the published MD5 sums first)."""
    import cv2

    for name, md5 in MODEL_MD5.items():
        got = hashlib.md5((MODEL_DIR / name).read_bytes()).hexdigest()
        if got != md5:
            raise RuntimeError(f"{MODEL_DIR / name}: MD5 {got}, expected {md5} (a Git LFS pointer or a damaged copy?)")
    return cv2.wechat_qrcode_WeChatQRCode(str(MODEL_DIR / "detect.prototxt"), str(MODEL_DIR / "detect.caffemodel"),
                                          str(MODEL_DIR / "sr.prototxt"), str(MODEL_DIR / "sr.caffemodel"))


def _bgr(img: Image.Image):
    import numpy as np

    return np.ascontiguousarray(np.asarray(img.convert("RGB"))[:, :, ::-1])


def decode_wechat(img: Image.Image) -> list[str]:
    """The texts WeChat's engine reads in ``img``."""
    texts, _points = wechat_detector().detectAndDecode(_bgr(img))
    return [t for t in texts if t]


def decode_zxing(img: Image.Image) -> list[str]:
    """The QR codes zxing-cpp reads in ``img`` (its default options, as an app would call it)."""
    import numpy as np
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(np.asarray(img.convert("L")))
            if r.format == zxingcpp.BarcodeFormat.QRCode and r.valid]


def decode_opencv(img: Image.Image) -> list[str]:
    """OpenCV's classic detector (no CNN): recorded, never required."""
    import cv2

    text, _points, _straight = cv2.QRCodeDetector().detectAndDecode(_bgr(img))
    return [text] if text else []


DECODERS = {"wechat": decode_wechat, "zxing": decode_zxing, "opencv": decode_opencv}
