"""Issue 20 (issuing, third round): a certificate's PNG compresses only the spans of rows its own words, QR code
and photo fall on; the template's rows around and between them (the title, the gaps between the lines of values,
the margins) come compressed from the process's cache. Counted (rows deflated), never timed; the pixels are the
page's."""
from __future__ import annotations

import io
import zlib

from PIL import Image

from certificates import rendering
from tests.unit.test_certificates_rendering import SNAP

URL = "HTTPS://CQO.EXAMPLE.GOV.CN/C/" + "7QK2M" * 32  # a printed token's length (version 8 at M)


def _args(name: str, serial: int, photo: bytes | None = None) -> tuple:
    return (dict(SNAP, holder_name=name), f"320600-B-2026-{serial:05d}", "2026-11-22", "2029-11-21",
            URL.replace("7QK2M", f"{serial:05d}", 1), photo)


def _deflated_rows(monkeypatch, args) -> tuple[bytes, int]:
    """The certificate's PNG (not kept from before) and how many of its rows were compressed for it."""
    seen = []
    real = rendering._deflate

    def deflate(raw, final):
        seen.append(len(raw))
        return real(raw, final)

    monkeypatch.setattr(rendering, "_deflate", deflate)
    rendering._last.clear()
    png = rendering.render_png(*args)
    monkeypatch.setattr(rendering, "_deflate", real)
    return png, sum(seen) // (rendering._page_size()[0] + 1)


def test_perf_23_a_certificate_deflates_only_its_own_rows(monkeypatch):
    rendering.render_png(*_args("王芳", 1))  # the template's cached segments for this layout
    for args in (_args("陈晨", 2), _args("欧阳明华", 3)):
        png, rows = _deflated_rows(monkeypatch, args)
        page, _qr_side, (first, last) = rendering._compose(*args)
        # Before: every row from the first word to the QR code's foot, in 64-row bands (~960 of the page's 1,654).
        assert rows <= 700, rows
        assert rows < last - first - 150, (rows, first, last)  # the gaps between the lines are not compressed again
        decoded = Image.open(io.BytesIO(png))
        assert decoded.tobytes() == page.tobytes() and decoded.getpalette() == page.getpalette()
        zlib.decompress(rendering._png_parts(png)[1])  # one valid zlib stream (its Adler-32 checked)


def test_perf_23_the_photo_rows_are_the_certificates_own(monkeypatch):
    buf = io.BytesIO()
    Image.new("RGB", (300, 400), (120, 90, 60)).save(buf, "JPEG")
    args = _args("王芳", 4, buf.getvalue())
    png, rows = _deflated_rows(monkeypatch, args)
    page, _qr_side, _rows = rendering._compose(*args)
    assert Image.open(io.BytesIO(png)).tobytes() == page.tobytes()
    assert rows <= 860, rows  # the photo joins the lines beside it into one span (before: 960 rows)


def test_perf_23_reportlab_formats_the_pdf_with_its_c_helpers():
    """rl-accel (requirements.txt) is installed and reportlab uses it: its number formatting, checksums and ASCII85
    were pure Python, ~13 % of a certificate's render CPU (12.4 -> 10.8 ms a warm certificate, load 2.5). Missing,
    reportlab silently falls back: this fails instead."""
    from reportlab.lib import rl_accel

    for name in ("fp_str", "calcChecksum", "asciiBase85Encode"):
        assert getattr(rl_accel, name).__module__ == "_rl_accel", name
