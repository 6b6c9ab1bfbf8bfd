"""The printed certificate: a PNG (Pillow) and an A4 landscape PDF (reportlab), in Chinese, with the QR code.

The CJK font is Noto Sans CJK from Debian's fonts-noto-cjk. Its outlines are CFF, which reportlab cannot
embed; so the page is typeset with Pillow/FreeType (real glyphs, never boxes) and the PDF carries that page
at print resolution with the QR code as its own lossless image on top, at its exact printed size, and every
word again as an invisible text layer over its printed glyphs in an embedded, subset TrueType CJK font
(WenQuanYi Zen Hei, Debian's fonts-wqy-zenhei). The QR code holds the compact signed link
``HTTPS://HOST/C/<TOKEN>`` at 6 dots a module (docs/certificates-qr.md).
"""
from __future__ import annotations

import functools
import io
import shutil
import subprocess
import threading
import zlib
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont, ImageOps

KNOWN_FONT_PATHS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
]
SC_INDEX = 2  # in NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK (Simplified Chinese glyph forms)

DPI = 200
A4_LANDSCAPE_MM = (297, 210)
QR_MIN_PRINT_MM = 30  # the QR code is printed at least 3 cm wide: readable by phone scanners at arm's length
QR_MODULE_DOTS = 6  # 0.762 mm a module at 200 dpi (docs/certificates-qr.md, "Decision")
QR_MODULE_DOTS_DENSE = 5  # beyond version 10 (more than 57 modules): names of more than about 30 CJK characters
QR_DENSE_BEYOND_MODULES = 57  # version 10


class FontMissing(RuntimeError):
    def __str__(self) -> str:
        return ("未找到中文字体 Noto Sans CJK（NotoSansCJK-Regular.ttc）。请安装 Debian 软件包 fonts-noto-cjk："
                "sudo apt-get install fonts-noto-cjk。No CJK font: install Debian's fonts-noto-cjk.")


@functools.lru_cache(maxsize=1)
def font_path() -> str:
    """The CJK font file: fontconfig's answer for Noto Sans CJK SC, else the known Debian paths."""
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(["fc-match", "-f", "%{file}", "Noto Sans CJK SC:style=Regular"], capture_output=True,
                                 text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out.endswith("NotoSansCJK-Regular.ttc") and Path(out).exists():
            return out
    for p in KNOWN_FONT_PATHS:
        if Path(p).exists():
            return p
    raise FontMissing()


@functools.lru_cache(maxsize=32)
def font(size: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font_path(), size, index=SC_INDEX)


def mm(v: float) -> int:
    return round(v / 25.4 * DPI)


def qr_image(url: str, box_size: int = 10, border: int = 4) -> Image.Image:
    """The QR code as a 1-bit image: error correction M, the smallest version that fits, ``border`` modules of
    quiet zone. Encoded by zxing-cpp (already the decoder): the pure-Python ``qrcode`` spent ~0.1 s a code in its
    mask search, a third of a certificate's rendering."""
    modules = _qr_modules(url)
    if border:
        modules = ImageOps.expand(modules, border=border, fill=255)
    side = modules.size[0] * box_size
    return modules.resize((side, side), Image.NEAREST).convert("1")


@functools.lru_cache(maxsize=8)
def _qr_modules(url: str) -> Image.Image:
    """The code's modules, one pixel each (0 black, 255 white), without the quiet zone. Kept for the last few
    URLs: the PNG and the PDF of one certificate need the same code. Callers only read it."""
    import zxingcpp

    code = zxingcpp.create_barcode(url, zxingcpp.BarcodeFormat.QRCode, ec_level="M")
    img = code.to_image(scale=1, add_quiet_zones=False)
    h, w = img.shape[:2]
    return Image.frombuffer("L", (w, h), bytes(memoryview(img)), "raw", "L", 0, 1)


def qr_for_print(url: str, min_width_px: int | None = None) -> Image.Image:
    """A QR code (with its 4-module quiet zone) with whole-pixel modules (no blurred module edges). Mode "L": 0
    black, 255 white. By default ``QR_MODULE_DOTS`` dots a module (0.762 mm at 200 dpi: docs/certificates-qr.md,
    what a phone photo of the page reads in WeChat's engine and zxing-cpp), ``QR_MODULE_DOTS_DENSE`` beyond
    version 10 (very long names). ``min_width_px``: at least that wide instead (the old rule)."""
    probe = ImageOps.expand(_qr_modules(url), border=QR_QUIET_ZONE, fill=255)
    modules = probe.size[0]
    if min_width_px is not None:
        box = max(1, -(-min_width_px // modules))
    else:
        box = QR_MODULE_DOTS if modules - 2 * QR_QUIET_ZONE <= QR_DENSE_BEYOND_MODULES else QR_MODULE_DOTS_DENSE
    return probe.resize((modules * box, modules * box), Image.NEAREST)


def _lines(snapshot: dict, number: str, issued_on: str, valid_until: str) -> list[tuple[str, str]]:
    return [
        ("证书编号", number),
        ("培训项目", f"{snapshot.get('programme', '')}（{snapshot.get('tier_label', '')}）"),
        ("培训班", snapshot.get("class_name", "")),
        ("培训时间", f"{snapshot.get('class_start', '')} 至 {snapshot.get('class_end', '')}"),
        ("培训机构", snapshot.get("institution", "")),
        ("监管部门", snapshot.get("bureau", "")),
        ("发证日期", issued_on),
        ("有效期至", valid_until),
    ]


LABELS = [label for label, _v in _lines({}, "", "", "")]

# ------------------------------------------------------------------ the page: a palette image
# The page has four inks on white: red (borders, title), grey (labels), ink (the holder's words) and black (the
# QR code). It is drawn as a palette image: white, then each ink at LEVELS - 1 levels of coverage for the
# anti-aliased glyph edges (the colour FreeType's coverage gives over white, rounded to 1/31), then black.
# One byte a pixel instead of three, mostly one value: the PNG compresses several times faster and the PDF
# carries the PNG's own compressed pixels (PNG predictors are PDF predictors), so the page is compressed once.
# The parts every certificate shares (borders, titles, labels, the QR caption) are drawn once per process.
LEVELS = 32
RED, GREY, INK, BLACK, WHITE = (160, 20, 20), (90, 90, 90), (20, 20, 20), (0, 0, 0), (255, 255, 255)
_RAMPS = (RED, GREY, INK)
QR_QUIET_ZONE = 4


def _build_palette() -> list[tuple[int, int, int]]:
    pal = [WHITE]
    for colour in _RAMPS:
        for lv in range(1, LEVELS):
            a = lv / (LEVELS - 1)
            pal.append(tuple(round(255 * (1 - a) + c * a) for c in colour))
    pal.append(BLACK)
    return pal


PALETTE = _build_palette()
WHITE_INDEX, BLACK_INDEX = 0, len(PALETTE) - 1
_PALETTE_BYTES = b"".join(bytes(c) for c in PALETTE)
_LEVEL = [round(c * (LEVELS - 1) / 255) for c in range(256)]
_MASK_LUT = [255 if lv else 0 for lv in _LEVEL]


def ink_index(colour: tuple[int, int, int], coverage: int = 255) -> int:
    """The palette index of ``colour`` at ``coverage`` (0-255) over white."""
    lv = _LEVEL[coverage]
    return 1 + _RAMPS.index(colour) * (LEVELS - 1) + lv - 1 if lv else WHITE_INDEX


@functools.lru_cache(maxsize=None)
def _index_lut(colour: tuple[int, int, int]) -> list[int]:
    return [ink_index(colour, c) for c in range(256)]


_QR_LUT = [BLACK_INDEX] * 128 + [WHITE_INDEX] * 128


def _text(page: Image.Image, xy: tuple[int, int], text: str, f: ImageFont.FreeTypeFont, colour,
          anchor: str = "la") -> tuple[int, int] | None:
    """Draw ``text`` on ``page`` (a mode "L" image of palette indices) in ``colour``, anti-aliased; return the
    rows drawn on (first, last + 1), None when nothing was drawn."""
    stamp = _stamp(text, f, colour, anchor)
    if stamp is not None:
        pixels, mask, (left, top) = stamp
        page.paste(pixels, (xy[0] + left, xy[1] + top), mask)
        return xy[1] + top, xy[1] + top + pixels.size[1]
    return None


@functools.lru_cache(maxsize=128)
def _stamp(text: str, f: ImageFont.FreeTypeFont, colour, anchor: str):
    """``text`` set in ``f``: its pixels as palette indices of ``colour``, the mask of where any ink fell, and the
    offset from the anchor point. The glyphs' coverage is drawn on a scratch image the size of the text and
    mapped to the colour's levels. Kept for the last texts: most of a class's certificates share the programme,
    class, dates, institution and issuer (FreeType rasterising was a third of drawing a page)."""
    if not text:
        return None
    left, top, right, bottom = f.getbbox(text, anchor=anchor)
    if right <= left or bottom <= top:
        return None
    layer = Image.new("L", (right - left, bottom - top), 0)
    ImageDraw.Draw(layer).text((-left, -top), text, font=f, fill=255, anchor=anchor)
    return layer.point(_index_lut(colour)), layer.point(_MASK_LUT), (left, top)


@functools.lru_cache(maxsize=64)
def _wrapped(text: str, f: ImageFont.FreeTypeFont, width: int) -> tuple[str, ...]:
    """``text`` broken into lines no wider than ``width``, character by character (Chinese has no spaces): each
    line is the longest prefix that fits (found by bisection), at least one character. Kept for the last texts:
    the PNG and the PDF's text layer of one certificate break the same sentence (FreeType measuring it was a
    tenth of a certificate's rendering)."""
    lines = []
    while text:
        lo, hi = 1, len(text)  # the answer n is in [lo, hi]: text[:lo] is taken even if too wide
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if f.getlength(text[:mid], mode="L") <= width:
                lo = mid
            else:
                hi = mid - 1
        lines.append(text[:lo])
        text = text[lo:]
    return tuple(lines)


def _page_size() -> tuple[int, int]:
    return mm(A4_LANDSCAPE_MM[0]), mm(A4_LANDSCAPE_MM[1])


def _qr_box(qr_side: int) -> tuple[int, int]:
    w, h = _page_size()
    return w - mm(28) - qr_side, h - mm(34) - qr_side


def _static_texts(qr_side: int) -> list[tuple]:
    """The words every certificate shares: ``(text, (x, y), font size in pixels, colour, anchor)``. Drawn on the
    template and written again, where they are printed, as the PDF's text layer."""
    w, _h = _page_size()
    out = [("首席质量官结业证书", (w // 2, mm(34)), mm(13), RED, "mm"),
           ("Chief Quality Officer Training Certificate", (w // 2, mm(48)), mm(5), GREY, "mm")]
    y = mm(92)
    for label in LABELS:
        out.append((label + "：", (mm(28), y), mm(4.6), GREY, "la"))
        y += mm(8.5)
    qx, qy = _qr_box(qr_side)
    out.append(("扫码核验证书真伪与状态", (qx + qr_side // 2, qy + qr_side + mm(4)), mm(3.6), GREY, "mm"))
    return out


def _photo_box() -> tuple[int, int, int, int]:
    """Where the holder's photo is printed (left, top, width, height in pixels): 30 × 40 mm, right-aligned with
    the QR code, between 发证单位 and the code (issue 16; docs/certificates-qr.md)."""
    w, _h = _page_size()
    return w - mm(28) - mm(30), mm(70), mm(30), mm(40)


def _own_texts(snapshot: dict, number: str, issued_on: str, valid_until: str) -> list[tuple]:
    """The certificate's own words, in ``_static_texts``' shape."""
    w, _h = _page_size()
    out = []
    f_body = font(mm(6.5))
    holder = snapshot.get("holder_name", "")
    body = f"{holder} 同志参加{snapshot.get('programme', '')}，完成全部培训课程并经考核合格，特发此证。"
    y = mm(62)
    for line in _wrapped(body, f_body, w - mm(28) - mm(100)):
        out.append((line, (mm(28), y), mm(6.5), INK, "la"))
        y += mm(10)
    y = mm(92)
    for _label, value in _lines(snapshot, number, issued_on, valid_until):
        out.append((value, (mm(56), y), mm(4.6), INK, "la"))
        y += mm(8.5)
    out.append(("发证单位：" + snapshot.get("issuer", ""), (w - mm(28), mm(62)), mm(4.6), INK, "ra"))
    if snapshot.get("photo_fp"):  # under the photo: the fingerprint the QR code signs
        left, top, pw, ph = _photo_box()
        out.append(("照片指纹 " + snapshot["photo_fp"], (left + pw // 2, top + ph + mm(4)), mm(3.2), GREY, "mm"))
    return out


@functools.lru_cache(maxsize=1)
def _photo_lut() -> list[int]:
    """Grey levels of a photo (0 black .. 255 white) as the ink ramp's palette indices."""
    return [ink_index(INK, 255 - v) for v in range(256)]


def _photo_pixels(photo: bytes, size: tuple[int, int]) -> Image.Image:
    """The holder's photo as palette indices of the ink ramp (the page is a palette image: the PNG prints it in
    grey; the PDF lays the colour JPEG itself over it)."""
    with Image.open(io.BytesIO(photo)) as img:
        grey = ImageOps.fit(img.convert("L"), size)
    return grey.point(_photo_lut())


@functools.lru_cache(maxsize=8)
def _template(qr_side: int) -> Image.Image:
    """What every certificate shares, as palette indices: borders, title, subtitle, the labels and the QR code's
    caption (placed under the code, whose width depends on its version: one template per width)."""
    w, h = _page_size()
    page = Image.new("L", (w, h), WHITE_INDEX)
    d = ImageDraw.Draw(page)
    red = ink_index(RED)
    d.rectangle([mm(8), mm(8), w - mm(8), h - mm(8)], outline=red, width=mm(1.2))
    d.rectangle([mm(11), mm(11), w - mm(11), h - mm(11)], outline=red, width=mm(0.4))
    for text, xy, size, colour, anchor in _static_texts(qr_side):
        _text(page, xy, text, font(size), colour, anchor)
    return page


def _compose(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str, photo: bytes | None = None):
    """The page (mode "P"), the QR code's width, and the rows (first, last + 1) where it differs from its
    template (the PNG is written from ``_own_rows`` alone; this whole page is for looking at)."""
    own = _own_rows(snapshot, number, issued_on, valid_until, url, photo)
    w, h = _page_size()
    page = _template(own.qr_side).copy()
    y0, y1 = own.spans[0][0], own.spans[-1][1]
    page.paste(own.strip.crop((1, 0, w + 1, y1 - y0)), (0, y0))
    page.putpalette(_PALETTE_BYTES)  # the indices become the palette image (mode "P"), no pixel is touched
    return page, own.qr_side, (y0, y1)


# The rows a certificate draws on are drawn into a copy of those rows of its template alone, already as PNG
# scanlines (a zero filter byte, then the row: ``_template_rows``), and only the spans of rows its words, QR
# code and photo fall on are compressed for it; the rows between them (between the lines of values, beside the
# QR code's caption) come from the per-process cache of the template's compressed rows. Issue 20: copying the
# whole page (3.9 MB), cropping the ~900 rows from the first word to the QR code, joining them with their
# filter bytes and deflating all of them was ~11 ms of a certificate's ~16 ms of CPU (warm, cProfile).
SPAN_GRID = 8  # spans start and end on multiples of 8 rows: the template's rows between them are cached


class OwnRows:
    """A certificate's own rows: ``strip``, rows ``spans[0][0]`` to ``spans[-1][1]`` of the page as scanlines
    (mode "L", one column wider: the filter byte), and the spans (first, last + 1) that differ from the template."""

    __slots__ = ("strip", "spans", "qr_side")

    def __init__(self, strip: Image.Image, spans: list[tuple[int, int]], qr_side: int):
        self.strip, self.spans, self.qr_side = strip, spans, qr_side


def _own_rows(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str,
              photo: bytes | None = None) -> OwnRows:
    """Draw the certificate's own words, QR code and photo over its template's rows (``OwnRows``)."""
    w, h = _page_size()
    qr = qr_for_print(url)
    qx, qy = _qr_box(qr.size[0])
    marks = []  # (x, y, pixels, mask): what is pasted, where
    for text, xy, size, colour, anchor in _own_texts(snapshot, number, issued_on, valid_until):
        stamp = _stamp(text, font(size), colour, anchor)
        if stamp is not None:
            pixels, mask, (left, top) = stamp
            marks.append((xy[0] + left, xy[1] + top, pixels, mask))
    marks.append((qx, qy, qr.point(_QR_LUT), None))
    if photo is not None:
        left, top, pw, ph = _photo_box()
        marks.append((left, top, _photo_pixels(photo, (pw, ph)), None))
    spans = _spans([(y, y + pixels.size[1]) for _x, y, pixels, _mask in marks], h)
    y0, y1 = spans[0][0], spans[-1][1]
    row = w + 1
    strip = Image.frombytes("L", (row, y1 - y0), memoryview(_template_rows(qr.size[0]))[y0 * row:y1 * row])
    for x, y, pixels, mask in marks:
        strip.paste(pixels, (x + 1, y - y0), mask)
    return OwnRows(strip, spans, qr.size[0])


def _spans(rows: list[tuple[int, int]], height: int) -> list[tuple[int, int]]:
    """The row ranges ``rows`` widened to the ``SPAN_GRID`` and merged where they touch, in order."""
    out: list[list[int]] = []
    for a, b in sorted((max(0, a) // SPAN_GRID * SPAN_GRID, min(height, -(-b // SPAN_GRID) * SPAN_GRID))
                       for a, b in rows if b > a):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return [(a, b) for a, b in out]


# ------------------------------------------------------------------ the files
# The PNG is written here rather than by Pillow so that the rows every certificate shares with its template
# (the title above the text, the gaps between its lines, the margin below the QR code) are compressed once per
# process: the zlib stream is made of independently compressed segments of rows (each ending on a full flush,
# so they concatenate into one valid deflate stream) and only the spans of rows with the certificate's own
# text, QR code and photo are compressed for each certificate. Rows carry PNG filter type 0 (none): on a
# palette image the other filters gain little and cost time.
PNG_COMPRESS_LEVEL = 3  # zlib level: 1-3 cost about the same on this page, 6 (the default) twice as much
_PHYS = round(DPI / 0.0254)  # pixels a metre


@functools.lru_cache(maxsize=8)
def _template_rows(qr_side: int) -> bytes:
    """The template for ``qr_side`` as PNG scanlines: each row after a zero filter byte."""
    tpl = _template(qr_side)
    rows = Image.new("L", (tpl.size[0] + 1, tpl.size[1]), 0)
    rows.paste(tpl, (1, 0))
    return rows.tobytes()


def _deflate(raw, final: bool) -> bytes:
    """``raw`` as a raw deflate segment with no history, ending on a byte boundary (full flush) or final."""
    c = zlib.compressobj(PNG_COMPRESS_LEVEL, zlib.DEFLATED, -15)
    return c.compress(raw) + c.flush(zlib.Z_FINISH if final else zlib.Z_FULL_FLUSH)


def adler32_combine(adler1: int, adler2: int, len2: int) -> int:
    """The Adler-32 of A + B from those of A and B and the length of B (zlib's adler32_combine)."""
    base = 65521
    rem = len2 % base
    sum1 = adler1 & 0xFFFF
    sum2 = (rem * sum1) % base
    sum1 += (adler2 & 0xFFFF) + base - 1
    sum2 += ((adler1 >> 16) & 0xFFFF) + ((adler2 >> 16) & 0xFFFF) + base - rem
    sum1 %= base
    sum2 %= base
    return sum1 | (sum2 << 16)


@functools.lru_cache(maxsize=512)
def _static_rows(qr_side: int, y0: int, y1: int, final: bool) -> tuple[bytes, int, int]:
    """Rows y0..y1-1 of the template for ``qr_side``: (deflate segment, adler-32 and length of their scanlines)."""
    row = _page_size()[0] + 1
    raw = memoryview(_template_rows(qr_side))[y0 * row:y1 * row]
    return _deflate(raw, final), zlib.adler32(raw), len(raw)


def _chunk(kind: bytes, body: bytes) -> bytes:
    return len(body).to_bytes(4, "big") + kind + body + zlib.crc32(body, zlib.crc32(kind)).to_bytes(4, "big")


def _png_bytes(own: OwnRows) -> bytes:
    """The page as a PNG: the template's cached segments between ``own``'s spans, each span compressed."""
    w, h = _page_size()
    row = w + 1
    raw = memoryview(own.strip.tobytes())
    base = own.spans[0][0]
    segments, adler, at = [], 1, 0
    for a, b in [*own.spans, (h, h)]:
        if a > at:  # the template's rows before this span
            seg, sa, n = _static_rows(own.qr_side, at, a, a == h)
            segments.append(seg)
            adler = adler32_combine(adler, sa, n)
        if b > a:
            part = raw[(a - base) * row:(b - base) * row]
            segments.append(_deflate(part, b == h))
            adler = adler32_combine(adler, zlib.adler32(part), len(part))
        at = b
    idat = b"\x78\x5e" + b"".join(segments) + adler.to_bytes(4, "big")  # zlib header: deflate, 32K window
    return b"".join([
        b"\x89PNG\r\n\x1a\n",
        _chunk(b"IHDR", w.to_bytes(4, "big") + h.to_bytes(4, "big") + bytes([8, 3, 0, 0, 0])),
        _chunk(b"pHYs", _PHYS.to_bytes(4, "big") * 2 + b"\x01"),
        _chunk(b"PLTE", _PALETTE_BYTES),
        _chunk(b"IDAT", idat),
        _chunk(b"IEND", b""),
    ])


def _png_parts(png: bytes) -> tuple[dict, bytes]:
    """The header fields and the concatenated IDAT data (one zlib stream of predictor-tagged rows) of a PNG."""
    pos, idat, header = 8, [], {}
    while pos < len(png):
        n = int.from_bytes(png[pos:pos + 4], "big")
        kind = png[pos + 4:pos + 8]
        body = png[pos + 8:pos + 8 + n]
        if kind == b"IHDR":
            header = {"width": int.from_bytes(body[0:4], "big"), "height": int.from_bytes(body[4:8], "big"),
                      "bits": body[8], "colour_type": body[9], "interlace": body[12]}
        elif kind == b"PLTE":
            header["palette"] = body
        elif kind == b"IDAT":
            idat.append(body)
        pos += 12 + n
    return header, b"".join(idat)


_last: dict[tuple, tuple[bytes, int]] = {}


def _page_png(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str,
              photo: bytes | None = None) -> tuple[bytes, int]:
    """The page's PNG and the QR code's width in pixels. The last one is kept: the PDF of a certificate carries
    the pixels of its PNG, and both are often made one after the other."""
    key = (repr(sorted(snapshot.items())), number, issued_on, valid_until, url, photo)
    hit = _last.get(key)
    if hit is None:
        own = _own_rows(snapshot, number, issued_on, valid_until, url, photo)
        hit = (_png_bytes(own), own.qr_side)
        _last.clear()
        _last[key] = hit
    return hit


def render_png(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str,
               photo: bytes | None = None) -> bytes:
    """The printable certificate as a PNG at ``DPI`` (``photo``: the holder's stored JPEG, where printed)."""
    return _page_png(snapshot, number, issued_on, valid_until, url, photo)[0]


def render_files(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str,
                 photo: bytes | None = None) -> tuple[bytes, bytes]:
    """The PNG and the PDF of one certificate (the page is drawn and compressed once for both)."""
    args = (snapshot, number, issued_on, valid_until, url, photo)
    return render_png(*args), render_pdf(*args)


PHOTO_XOBJECT = "holder-photo"  # the photo's image in the PDF (the verifier finds it by its DCTDecode filter)


def _xobject_class():
    from reportlab.pdfbase import pdfdoc

    class RawImage(pdfdoc.PDFImageXObject):
        """An image XObject whose stream is already compressed (reportlab would decode the image, re-compress it
        and ASCII85 it: two thirds of the old PDF's cost)."""

        def __init__(self, name: str, width: int, height: int, colour_space, bits: int, data: bytes,
                     decode_parms: dict | None = None, filter_name: str = "FlateDecode"):
            self.name, self.width, self.height, self.mask = name, width, height, None
            self._colour_space, self._bits, self._data, self._parms = colour_space, bits, data, decode_parms
            self._filter = filter_name

        def format(self, document):
            s = pdfdoc.PDFStream(content=self._data)
            d = s.dictionary
            d["Type"], d["Subtype"] = pdfdoc.PDFName("XObject"), pdfdoc.PDFName("Image")
            d["Width"], d["Height"], d["BitsPerComponent"] = self.width, self.height, self._bits
            d["ColorSpace"] = self._colour_space
            # A single filter as a name with its parameters as a dictionary (readers pair a one-filter array
            # with an array of parameters). Already applied: PDFStream adds no filter when "Filter" is set.
            d["Filter"] = pdfdoc.PDFName(self._filter)
            if self._parms:
                d["DecodeParms"] = pdfdoc.PDFDictionary(dict(self._parms))
            return s.format(document)

    return RawImage


_RawImage = None


def _draw_raw_image(c, img, x: float, y: float, width: float, height: float) -> None:
    """Place a prepared image XObject on the canvas's page (what ``Canvas.drawImage`` does after loading)."""
    reg = c._doc.getXObjectName(img.name)
    c._setXObjects(img)
    c._doc.Reference(img, reg)
    c._doc.addForm(img.name, img)
    c._currentPageHasImages = 1
    c.saveState()
    c.translate(x, y)
    c.scale(width, height)
    c._code.append(f"/{reg} Do")
    c.restoreState()
    c._formsinuse.append(img.name)


def render_pdf(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str,
               photo: bytes | None = None) -> bytes:
    """A4 landscape: the page image (the PNG's own compressed pixels), the QR code again as a 1-bit image at its
    exact printed size, the words as an invisible text layer, and the holder's photo (where printed) as its own
    image: the stored JPEG's very bytes (DCTDecode), so that its SHA-256 is the signed fingerprint's."""
    global _RawImage
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm as rl_mm
    from reportlab.pdfbase import pdfdoc
    from reportlab.pdfgen import canvas

    if _RawImage is None:
        _RawImage = _xobject_class()
    png, qr_side = _page_png(snapshot, number, issued_on, valid_until, url, photo)
    head, idat = _png_parts(png)
    if head.get("colour_type") != 3 or head.get("interlace"):
        raise ValueError("the page PNG is expected to be a non-interlaced palette image")
    n_colours = len(head["palette"]) // 3
    space = pdfdoc.PDFArray([pdfdoc.PDFName("Indexed"), pdfdoc.PDFName("DeviceRGB"), n_colours - 1,
                             b"<" + head["palette"].hex().encode() + b">"])
    page_img = _RawImage("certificate-page", head["width"], head["height"], space, head["bits"], idat,
                         {"Predictor": 15, "Colors": 1, "BitsPerComponent": head["bits"], "Columns": head["width"]})
    # Its pixels are black or white already: no dithering (Pillow's default Floyd-Steinberg pass cost ~0.5 ms a
    # certificate, issue 20, for the same bits).
    qr = qr_for_print(url).convert("1", dither=Image.Dither.NONE)
    qr_img = _RawImage("certificate-qr", qr.size[0], qr.size[1], pdfdoc.PDFName("DeviceGray"), 1,
                       zlib.compress(qr.tobytes(), 6))

    buf = io.BytesIO()
    width, height = landscape(A4)
    # invariant: no creation time or random document id, so the same certificate always gives the same bytes
    c = canvas.Canvas(buf, pagesize=(width, height), pageCompression=1, invariant=1,
                      initialFontName=_text_font())  # not Helvetica: no font the PDF does not embed
    info = {"title": f"首席质量官结业证书 {number}", "author": snapshot.get("issuer") or "首席质量官培训平台",
            "subject": f"首席质量官结业证书 {number}：{snapshot.get('holder_name', '')}，"
                       f"{snapshot.get('programme', '')}（{snapshot.get('tier_label', '')}）",
            "keywords": ", ".join(["首席质量官", "结业证书", number, snapshot.get("tier_label", "")]),
            "creator": "首席质量官培训平台"}
    c.setTitle(info["title"])
    c.setAuthor(info["author"])
    c.setSubject(info["subject"])
    c.setKeywords(info["keywords"])
    c.setCreator(info["creator"])
    _pdfa_2b(c, info, issued_on)
    _draw_raw_image(c, page_img, 0, 0, width, height)
    _invisible_text(c, snapshot, number, issued_on, valid_until, qr_side, height)
    # The QR again as its own lossless image at exactly its printed size, so it stays crisp on any printer.
    side = qr_side / DPI * 25.4 * rl_mm
    _draw_raw_image(c, qr_img, width - 28 * rl_mm - side, 34 * rl_mm, side, side)
    if photo is not None:
        with Image.open(io.BytesIO(photo)) as img:
            pw, ph, mode = img.size[0], img.size[1], img.mode
        if mode != "RGB" or photo[:2] != b"\xff\xd8":
            raise ValueError("the holder's photo is expected to be the stored RGB JPEG (certificates.photos)")
        photo_img = _RawImage(PHOTO_XOBJECT, pw, ph, pdfdoc.PDFName("DeviceRGB"), 8, photo, None, "DCTDecode")
        left, top, bw, bh = _photo_box()
        px = 72 / DPI
        _draw_raw_image(c, photo_img, left * px, height - (top + bh) * px, bw * px, bh * px)
    c.showPage()
    c.save()
    return buf.getvalue()


# ------------------------------------------------------------------ PDF/A-2b (ISO 19005-2, level B) metadata
PDFA_PART, PDFA_CONFORMANCE = 2, "B"
SRGB_CONDITION = "sRGB IEC61966-2.1"


@functools.lru_cache(maxsize=1)
def srgb_icc() -> bytes:
    """The sRGB ICC profile of the OutputIntent: LittleCMS's built-in sRGB (through Pillow), with its creation
    date fixed (the profile is otherwise stamped with the moment it is made, and the same certificate must give
    the same bytes). Its profile ID is not computed (all zero), so the fixed date invalidates nothing."""
    from PIL import ImageCms

    raw = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    raw[24:36] = (2000).to_bytes(2, "big") + (1).to_bytes(2, "big") + (1).to_bytes(2, "big") + bytes(6)
    return bytes(raw)


def _xml(text: str) -> str:
    return (text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;"))


def xmp_packet(info: dict, producer: str, when: str) -> bytes:
    """The XMP metadata of a PDF/A-2b file: its part and conformance, and the document information dictionary's
    entries again, equivalent to them (ISO 19005-2 §6.6.2.3: title, author, subject, keywords, creator tool,
    producer and dates must match)."""
    return f"""<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>
<x:xmpmeta xmlns:x="adobe:ns:meta/">
 <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
  <rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"
    xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/"
    xmlns:pdf="http://ns.adobe.com/pdf/1.3/">
   <pdfaid:part>{PDFA_PART}</pdfaid:part>
   <pdfaid:conformance>{PDFA_CONFORMANCE}</pdfaid:conformance>
   <dc:format>application/pdf</dc:format>
   <dc:title><rdf:Alt><rdf:li xml:lang="x-default">{_xml(info["title"])}</rdf:li></rdf:Alt></dc:title>
   <dc:creator><rdf:Seq><rdf:li>{_xml(info["author"])}</rdf:li></rdf:Seq></dc:creator>
   <dc:description><rdf:Alt><rdf:li xml:lang="x-default">{_xml(info["subject"])}</rdf:li></rdf:Alt></dc:description>
   <pdf:Keywords>{_xml(info["keywords"])}</pdf:Keywords>
   <pdf:Producer>{_xml(producer)}</pdf:Producer>
   <pdf:Trapped>False</pdf:Trapped>
   <xmp:CreatorTool>{_xml(info["creator"])}</xmp:CreatorTool>
   <xmp:CreateDate>{when}</xmp:CreateDate>
   <xmp:ModifyDate>{when}</xmp:ModifyDate>
  </rdf:Description>
 </rdf:RDF>
</x:xmpmeta>
<?xpacket end="w"?>""".encode("utf-8")


def _pdfa_2b(c, info: dict, issued_on: str) -> None:
    """Make the canvas's document PDF/A-2b as far as metadata and colour go: the document's dates are the issue
    date (00:00 Beijing time: deterministic, and what the document is of), an XMP metadata stream (uncompressed)
    equivalent to the information dictionary, and an sRGB OutputIntent, so that the page's DeviceRGB (through
    its Indexed palette) and the QR code's DeviceGray have a defined meaning. The fonts are embedded already
    (``_text_font``). docs/certificates-qr.md says what was checked and what a validator would still have to."""
    from reportlab.pdfbase import pdfdoc

    y, m, d = (int(x) for x in issued_on[:10].split("-"))
    c.setDateFormatter(lambda *_ts: f"D:{y:04d}{m:02d}{d:02d}000000+08'00'")
    when = f"{y:04d}-{m:02d}-{d:02d}T00:00:00+08:00"
    doc = c._doc
    doc._pdfVersion = max(doc._pdfVersion, (1, 4))  # Metadata streams and OutputIntents are PDF 1.4
    metadata = _plain_stream_class()(pdfdoc.PDFDictionary({"Type": pdfdoc.PDFName("Metadata"),
                                                  "Subtype": pdfdoc.PDFName("XML")}),
                            xmp_packet(info, doc.info.producer, when))
    icc = pdfdoc.PDFStream(pdfdoc.PDFDictionary({"N": 3}), srgb_icc())
    intent = pdfdoc.PDFDictionary({
        "Type": pdfdoc.PDFName("OutputIntent"), "S": pdfdoc.PDFName("GTS_PDFA1"),
        "OutputConditionIdentifier": pdfdoc.PDFString(SRGB_CONDITION), "Info": pdfdoc.PDFString(SRGB_CONDITION),
        "RegistryName": pdfdoc.PDFString("http://www.color.org"), "DestOutputProfile": doc.Reference(icc)})
    catalog = doc.Catalog
    catalog.Metadata = metadata
    catalog.OutputIntents = pdfdoc.PDFArray([intent])
    # OutputIntents is not among the catalog entries reportlab writes: add it for this document's catalog only.
    catalog.__NoDefault__ = [*type(catalog).__NoDefault__, "OutputIntents"]


@functools.lru_cache(maxsize=1)
def _plain_stream_class():
    from reportlab.pdfbase import pdfdoc

    class PlainStream(pdfdoc.PDFStream):
        """A stream written as it is, with no filter: PDF/A readers find the XMP packet in the file's bytes."""

        def format(self, document):
            d = pdfdoc.PDFDictionary(dict(self.dictionary.dict, Length=len(self.content)))
            return pdfdoc.format(d, document) + b"\nstream\n" + self.content + b"\nendstream\n"

    return PlainStream


TEXT_FONT_PATHS = [  # TrueType outlines (reportlab embeds and subsets these; not Noto CJK's CFF): fonts-wqy-zenhei
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/wqy-zenhei/wqy-zenhei.ttc",
]
TEXT_FONT = "CQO-Text"


class TextFontMissing(FontMissing):
    def __str__(self) -> str:
        return ("未找到 PDF 文字层所用的中文 TrueType 字体（文泉驿正黑 wqy-zenhei.ttc）。请安装 Debian 软件包 "
                "fonts-wqy-zenhei：sudo apt-get install fonts-wqy-zenhei。No TrueType CJK font for the PDF's "
                "text layer: install Debian's fonts-wqy-zenhei.")


@functools.lru_cache(maxsize=1)
def _text_font() -> str:
    """Register the text layer's font with reportlab (once per process) and return its name."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    for p in TEXT_FONT_PATHS:
        if Path(p).exists():
            ttf = TTFont(TEXT_FONT, p, subfontIndex=0)  # embedded, subset (reportlab's default)
            # Each PDF's subset re-read the font's tables (glyf alone is megabytes) from the 17 MB file: keep the
            # few it reads (they never change) instead of copying them again for every certificate.
            ttf.face.get_table = functools.lru_cache(maxsize=None)(ttf.face.get_table)
            pdfmetrics.registerFont(ttf)
            return TEXT_FONT
    raise TextFontMissing()


def _invisible_text(c, snapshot: dict, number: str, issued_on: str, valid_until: str, qr_side: int,
                    height: float) -> None:
    """Every word of the page as invisible text (render mode 3), each string exactly over its printed glyphs:
    same baseline, same start, stretched (horizontal scale) to the printed width, so that selecting or
    searching a word highlights the word on the page. The glyphs seen on paper are the raster's; this layer
    draws nothing. Its font is embedded and subset, with a ToUnicode map (copying gives the real text)."""
    name = _text_font()
    for text, xy, size, _colour, anchor in _static_texts(qr_side) + _own_texts(snapshot, number, issued_on,
                                                                              valid_until):
        left, baseline, pt, scale = _text_geometry(text, xy, size, anchor, name)
        t = c.beginText()
        t.setTextRenderMode(3)
        t.setFont(name, pt)
        if scale:
            t.setHorizScale(scale)
        t.setTextOrigin(left, height - baseline)
        t.textOut(text)
        c.drawText(t)


@functools.lru_cache(maxsize=256)
def _text_geometry(text: str, xy: tuple[int, int], size: int, anchor: str, font_name: str):
    """Where ``text`` is printed, in points from the page's top left: (left, baseline, font size, horizontal
    scale in percent or None). Kept for the last texts: the labels and most values recur certificate after
    certificate (measuring a string with FreeType was half the text layer's cost)."""
    from reportlab.pdfbase import pdfmetrics

    px = 72 / DPI  # points per pixel
    f = font(size)
    ascent, descent = f.getmetrics()
    printed = f.getlength(text)
    left = xy[0] - {"l": 0, "m": printed / 2, "r": printed}[anchor[0]]
    baseline = xy[1] + {"a": ascent, "m": (ascent - descent) / 2, "s": 0}[anchor[1]]
    pt = size * px
    natural = pdfmetrics.stringWidth(text, font_name, pt)
    return left * px, baseline * px, pt, (100 * printed * px / natural) if natural > 0 else None


def decode_qr_from_image(img: Image.Image) -> list[str]:
    """The texts of the QR codes found in an image."""
    import zxingcpp

    if img.mode not in ("L", "RGB", "RGBA"):
        img = img.convert("RGB")  # a palette image's pixels are indices, not brightness

    return [r.text for r in zxingcpp.read_barcodes(img) if r.format == zxingcpp.BarcodeFormat.QRCode]


def decode_qr_from_pdf(data: bytes, scale: float = 300 / 72) -> list[str]:
    """The texts of the QR codes found on a PDF's pages (rendered at ``scale``)."""
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    out: list[str] = []
    try:
        for i in range(len(pdf)):
            out += decode_qr_from_image(pdf[i].render(scale=scale).to_pil())
    finally:
        pdf.close()
    return out


def photos_from_pdf(data: bytes) -> list[bytes]:
    """The JPEG streams (DCTDecode images) embedded in a PDF, byte for byte as stored: a certificate's PDF carries
    the holder's stored photo this way, so that its SHA-256 can be compared with the signed fingerprint."""
    import pypdfium2 as pdfium
    import pypdfium2.raw as pdfium_c

    pdf = pdfium.PdfDocument(data)
    out: list[bytes] = []
    try:
        for i in range(len(pdf)):
            for obj in pdf[i].get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_IMAGE]):
                if obj.get_filters() == ["DCTDecode"]:
                    out.append(bytes(obj.get_data(decode_simple=False)))
    finally:
        pdf.close()
    return out


# ------------------------------------------------------------------ many at once
# The renderers' niceness: 0, the web server's own. Issue 20 measured 10 and 0 one after the other on a quiet machine
# (bench BENCH_ONLY=issuing, scale 0.05, 40 s beside wrk's 16 connections of verification pages; 2026-12-04 19:03-
# 19:08, after the batch writes and the cheaper render). At 10: SQLite 44.2 certificates/s, PostgreSQL 18.4/s
# (5,000 in 272 s: PostgreSQL's server processes, at nice 0, took the niced renderers' share). At 0: 40.7/s and
# 41.8/s (123 s, 120 s), the verification p95 during issuing 0.80 x and 0.62 x its p95 before (goal <= 2 x) and its
# rate 2,989 -> 2,610 req/s (SQLite), 1,764 -> 1,829 (PostgreSQL). The product itself renders a certificate's file
# in the web process, at this same priority. ``nice`` stays a parameter (BENCH_RENDER_NICE) for a machine whose web
# server saturates its cores.
RENDER_NICE = 0


def _lower_priority(nice: int) -> None:
    import os

    try:
        os.nice(nice)
    except (AttributeError, OSError):  # no nice on this platform, or not allowed: render at normal priority
        pass


def _start_renderer(nice: int) -> None:
    """A pool worker's start: lower its priority, then pay the first certificate's costs now (the fonts, the
    PDF text layer's TrueType font read and registered, the template page and its compressed bands, the sRGB
    profile: ~0.4 s, several seconds on a loaded machine), while the caller issues its first batch, instead of
    in the first certificates it is sent (issue 20: the first chunk waited on cold workers)."""
    _lower_priority(nice)
    warm_up()


WARM_UP_URL = "HTTPS://EXAMPLE.INVALID/C/" + "A" * 160  # a typical printed token's length (version 8 at M)


def warm_up() -> None:
    """Render one made-up certificate and forget it: every per-process cache is filled. Its words are the
    template's own; nothing of it is kept but the caches (the last-page cache is emptied)."""
    render_files({"holder_name": "王芳", "programme": "首席质量官培训", "tier_label": "基础"}, "000000-B-2000-00000",
                 "2000-01-01", "2000-01-01", WARM_UP_URL)
    _last.clear()


class RenderPool:
    """Renders certificates' PNG and PDF in worker processes (one per core by default), at ``RENDER_NICE`` unless
    told (``os.nice``: a higher value yields the CPU to the web server). Each worker keeps its own caches of fonts, the template page and the
    stamped texts. ``submit`` takes the keyword arguments of ``render_files`` for a list of certificates and
    returns a future of their ``(png, pdf)`` pairs, in order; use it as a context manager.

    The workers are started with "forkserver" (not fork: the caller may be a web process with threads and
    open database connections), which has imported this module once; each renders a made-up certificate as it
    starts (``warm_up``; ``warm=False``: not), so that the first real ones do not pay the caches' filling."""

    def __init__(self, processes: int | None = None, nice: int = RENDER_NICE, warm: bool = True):
        import multiprocessing
        import os
        from concurrent.futures import ProcessPoolExecutor

        self.processes = processes or os.cpu_count() or 1
        method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
        ctx = multiprocessing.get_context(method)
        if method == "forkserver":  # the server imports Pillow and this module once; each worker forks from it
            ctx.set_forkserver_preload([__name__])
        self._pool = ProcessPoolExecutor(self.processes, mp_context=ctx,
                                         initializer=_start_renderer if warm else _lower_priority, initargs=(nice,))

    def submit(self, certificates: list[dict]):
        """A future of ``[(png, pdf), ...]`` for ``certificates`` (dicts of ``render_files`` arguments); the list is
        split across the workers."""
        from concurrent.futures import Future

        if not certificates:
            done: Future = Future()
            done.set_result([])
            return done
        size = max(1, -(-len(certificates) // self.processes))
        parts = [self._pool.submit(_render_list, certificates[i:i + size]) for i in range(0, len(certificates), size)]
        out: Future = Future()
        lock = threading.Lock()

        def collect(_f=None):  # called by the pool's thread as each part finishes
            with lock:
                if out.done() or not all(p.done() for p in parts):
                    return
                errors = [p.exception() for p in parts if p.exception() is not None]
                if errors:
                    out.set_exception(errors[0])  # a worker's error is the caller's
                else:
                    out.set_result([pair for p in parts for pair in p.result()])

        for p in parts:
            p.add_done_callback(collect)
        return out

    def render(self, certificates: list[dict]) -> list[tuple[bytes, bytes]]:
        return self.submit(certificates).result()

    def close(self) -> None:
        self._pool.shutdown(wait=True)

    def __enter__(self) -> "RenderPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def cache_sizes() -> dict[str, int]:
    """How full this process's rendering caches are (a pool worker's, asked through the pool: tests)."""
    return {"template": _template.cache_info().currsize, "text_font": _text_font.cache_info().currsize,
            "stamps": _stamp.cache_info().currsize, "last_page": len(_last)}


def _render_list(certificates: list[dict]) -> list[tuple[bytes, bytes]]:
    return [render_files(**args) for args in certificates]
