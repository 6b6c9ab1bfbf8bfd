"""The printed certificate: a PNG (Pillow) and an A4 landscape PDF (reportlab), in Chinese, with the QR code.

The CJK font is Noto Sans CJK from Debian's fonts-noto-cjk. Its outlines are CFF, which reportlab cannot
embed; so the page is typeset with Pillow/FreeType (real glyphs, never boxes) and the PDF carries that page
at print resolution with the QR code as its own lossless image on top, at its exact printed size.
"""
from __future__ import annotations

import functools
import io
import shutil
import subprocess
from pathlib import Path

import qrcode
from PIL import Image, ImageDraw, ImageFont
from qrcode.constants import ERROR_CORRECT_M

KNOWN_FONT_PATHS = [
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/noto-cjk/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/google-noto-cjk/NotoSansCJK-Regular.ttc",
]
SC_INDEX = 2  # in NotoSansCJK-Regular.ttc: JP, KR, SC, TC, HK (Simplified Chinese glyph forms)

DPI = 200
A4_LANDSCAPE_MM = (297, 210)
QR_MIN_PRINT_MM = 30  # the QR code is printed at least 3 cm wide: readable by phone scanners at arm's length


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
    """The QR code as a 1-bit image: error correction M, the smallest version that fits."""
    qr = qrcode.QRCode(error_correction=ERROR_CORRECT_M, box_size=box_size, border=border)
    qr.add_data(url)
    qr.make(fit=True)
    return qr.make_image(fill_color="black", back_color="white").get_image().convert("1")


@functools.lru_cache(maxsize=8)
def _qr_modules(url: str) -> Image.Image:
    """The code's modules, one pixel each. Choosing the mask (qrcode's best_mask_pattern) is most of a
    certificate's rendering time, and the PNG and the PDF of one certificate need the same code: kept for the
    last few URLs. Callers only read it (resize returns a copy)."""
    return qr_image(url, box_size=1)


def qr_for_print(url: str, min_width_px: int) -> Image.Image:
    """A QR code at least ``min_width_px`` wide, with whole-pixel modules (no blurred module edges)."""
    probe = _qr_modules(url)
    modules = probe.size[0]
    box = max(1, -(-min_width_px // modules))
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


def render_png_image(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str) -> Image.Image:
    """The page as an image. The last one is kept (a copy is handed out): the PDF embeds the same page as the PNG,
    and issuing renders both, one after the other."""
    key = (repr(sorted(snapshot.items())), number, issued_on, valid_until, url)
    hit = _last_page.get(key)
    if hit is None:
        hit = _draw_page(snapshot, number, issued_on, valid_until, url)
        _last_page.clear()
        _last_page[key] = hit
    return hit.copy()


_last_page: dict[tuple, Image.Image] = {}


def _draw_page(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str) -> Image.Image:
    w, h = mm(A4_LANDSCAPE_MM[0]), mm(A4_LANDSCAPE_MM[1])
    img = Image.new("RGB", (w, h), "white")
    d = ImageDraw.Draw(img)
    red, ink = (160, 20, 20), (20, 20, 20)
    d.rectangle([mm(8), mm(8), w - mm(8), h - mm(8)], outline=red, width=mm(1.2))
    d.rectangle([mm(11), mm(11), w - mm(11), h - mm(11)], outline=red, width=mm(0.4))
    title = "首席质量官结业证书"
    f_title = font(mm(13))
    d.text((w // 2, mm(34)), title, font=f_title, fill=red, anchor="mm")
    f_sub = font(mm(5))
    d.text((w // 2, mm(48)), "Chief Quality Officer Training Certificate", font=f_sub, fill=(90, 90, 90), anchor="mm")
    f_body = font(mm(6.5))
    holder = snapshot.get("holder_name", "")
    body = f"{holder} 同志参加{snapshot.get('programme', '')}，完成全部培训课程并经考核合格，特发此证。"
    _wrap(d, (mm(28), mm(62)), body, f_body, w - mm(28) - mm(100), ink, mm(10))
    f_label, f_value = font(mm(4.6)), font(mm(4.6))
    y = mm(92)
    for label, value in _lines(snapshot, number, issued_on, valid_until):
        d.text((mm(28), y), label + "：", font=f_label, fill=(90, 90, 90))
        d.text((mm(56), y), value, font=f_value, fill=ink)
        y += mm(8.5)
    qr = qr_for_print(url, mm(QR_MIN_PRINT_MM)).convert("RGB")
    qx, qy = w - mm(28) - qr.size[0], h - mm(34) - qr.size[1]
    img.paste(qr, (qx, qy))
    f_small = font(mm(3.6))
    d.text((qx + qr.size[0] // 2, qy + qr.size[1] + mm(4)), "扫码核验证书真伪与状态", font=f_small, fill=(90, 90, 90), anchor="mm")
    d.text((w - mm(28), mm(62)), "发证单位：" + snapshot.get("issuer", ""), font=font(mm(4.6)), fill=ink, anchor="ra")
    return img


def _wrap(d: ImageDraw.ImageDraw, xy, text: str, f, width: int, fill, line_height: int) -> None:
    x, y = xy
    line = ""
    for ch in text:
        if d.textlength(line + ch, font=f) > width:
            d.text((x, y), line, font=f, fill=fill)
            y += line_height
            line = ch
        else:
            line += ch
    if line:
        d.text((x, y), line, font=f, fill=fill)


def render_png(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str) -> bytes:
    buf = io.BytesIO()
    # No ``optimize``: it tries every zlib setting, about 0.16 s a page for a file some 10 % smaller.
    render_png_image(snapshot, number, issued_on, valid_until, url).save(buf, "PNG", dpi=(DPI, DPI))
    return buf.getvalue()


def render_pdf(snapshot: dict, number: str, issued_on: str, valid_until: str, url: str) -> bytes:
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.units import mm as rl_mm
    from reportlab.lib.utils import ImageReader
    from reportlab.pdfgen import canvas

    page = render_png_image(snapshot, number, issued_on, valid_until, url)
    buf = io.BytesIO()
    width, height = landscape(A4)
    c = canvas.Canvas(buf, pagesize=(width, height), pageCompression=1)
    c.setTitle(f"首席质量官结业证书 {number}")
    c.setSubject(number)
    c.setCreator("首席质量官培训平台")
    c.drawImage(ImageReader(page), 0, 0, width=width, height=height)
    _invisible_text(c, snapshot, number, issued_on, valid_until, height)
    # The QR again as its own lossless image at exactly its printed size, so it stays crisp on any printer.
    qr = qr_for_print(url, mm(QR_MIN_PRINT_MM))
    side = qr.size[0] / DPI * 25.4 * rl_mm
    x = width - 28 * rl_mm - side
    y = 34 * rl_mm
    qbuf = io.BytesIO()
    qr.convert("L").save(qbuf, "PNG")
    qbuf.seek(0)
    c.drawImage(ImageReader(qbuf), x, y, width=side, height=side)
    c.showPage()
    c.save()
    return buf.getvalue()


def _invisible_text(c, snapshot: dict, number: str, issued_on: str, valid_until: str, height: float) -> None:
    """The page's words as invisible text (render mode 3) so the PDF can be searched and copied. The glyphs
    seen on paper are the raster's; this layer draws nothing, so a viewer without the font shows no boxes."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    t = c.beginText()
    t.setTextRenderMode(3)
    t.setFont("STSong-Light", 12)
    t.setTextOrigin(80, height - 160)
    t.textLine(f"首席质量官结业证书 持证人：{snapshot.get('holder_name', '')}")
    for label, value in _lines(snapshot, number, issued_on, valid_until):
        t.textLine(f"{label}：{value}")
    c.drawText(t)


def decode_qr_from_image(img: Image.Image) -> list[str]:
    import zxingcpp

    return [r.text for r in zxingcpp.read_barcodes(img) if r.format == zxingcpp.BarcodeFormat.QRCode]


def decode_qr_from_pdf(data: bytes, scale: float = 300 / 72) -> list[str]:
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(data)
    out: list[str] = []
    try:
        for i in range(len(pdf)):
            out += decode_qr_from_image(pdf[i].render(scale=scale).to_pil())
    finally:
        pdf.close()
    return out
