"""The printed certificate: real CJK glyphs, a QR code readable at 3 cm, PNG and PDF that decode."""
from __future__ import annotations

import io

import pytest
from PIL import Image, ImageChops, ImageDraw

from certificates import rendering

URL = "https://cqo.example.gov.cn/v/" + "Ab3_" * 6 + "#" + "e" * 190 + "." + "s" * 86
SNAP = {"holder_name": "王芳", "programme": "2026年江苏省首席质量官基础培训", "tier_label": "基础",
        "class_name": "南通市2026年第一期基础班", "class_start": "2026-09-01", "class_end": "2026-09-05",
        "institution": "南通市质量技术培训中心", "bureau": "南通市市场监督管理局", "issuer": "南通市市场监督管理局"}


def glyph(ch: str) -> Image.Image:
    img = Image.new("L", (80, 80), 255)
    ImageDraw.Draw(img).text((8, 4), ch, font=rendering.font(60), fill=0)
    return img


def test_cjk_characters_render_as_distinct_glyphs():
    tofu = glyph("\U000f0000")  # a private-use code point: what a missing glyph looks like in this font
    images = [glyph(c) for c in "质量官证书王芳"]
    for img in images:
        assert ImageChops.difference(img, tofu).getbbox() is not None  # not the missing-glyph box
        assert img.getbbox() is not None  # not blank
    for i, a in enumerate(images):
        for b in images[i + 1:]:
            assert ImageChops.difference(a, b).getbbox() is not None


def test_missing_font_fails_with_a_clear_message(monkeypatch):
    monkeypatch.setattr(rendering, "KNOWN_FONT_PATHS", ["/nonexistent/font.ttc"])
    monkeypatch.setattr(rendering.shutil, "which", lambda _name: None)
    rendering.font_path.cache_clear()
    try:
        with pytest.raises(rendering.FontMissing) as exc:
            rendering.font_path()
        assert "fonts-noto-cjk" in str(exc.value)
    finally:
        rendering.font_path.cache_clear()


def test_qr_readable_when_printed_3cm_wide():
    import zxingcpp
    from PIL import ImageFilter

    # On the certificate the QR is never narrower than 3 cm.
    placed = rendering.qr_for_print(URL, rendering.mm(rendering.QR_MIN_PRINT_MM))
    assert placed.size[0] / rendering.DPI * 25.4 >= 30
    # Printed exactly 3 cm wide and read back at 300 and at a coarse 150 dpi, slightly blurred like ink.
    modules = rendering.qr_image(URL, box_size=1)
    for dpi in (300, 150):
        px = round(30 / 25.4 * dpi)
        printed = modules.convert("L").resize((px, px), Image.NEAREST).filter(ImageFilter.GaussianBlur(0.6))
        canvas = Image.new("L", (px + 40, px + 40), 255)
        canvas.paste(printed, (20, 20))
        assert [r.text for r in zxingcpp.read_barcodes(canvas)] == [URL], dpi


def test_png_and_pdf_carry_the_link():
    png = rendering.render_png(SNAP, "320600-B-2026-00017", "2026-11-22", "2029-11-21", URL)
    img = Image.open(io.BytesIO(png))
    assert img.size[0] > img.size[1]  # landscape
    assert rendering.decode_qr_from_image(img) == [URL]
    pdf = rendering.render_pdf(SNAP, "320600-B-2026-00017", "2026-11-22", "2029-11-21", URL)
    assert pdf.startswith(b"%PDF-")
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    w, h = doc[0].get_size()
    doc.close()
    assert round(w) == 842 and round(h) == 595  # A4 landscape in points
    assert rendering.decode_qr_from_pdf(pdf) == [URL]
    doc = pdfium.PdfDocument(pdf)
    text = doc[0].get_textpage().get_text_range()
    doc.close()
    assert "320600-B-2026-00017" in text and "王芳" in text and "南通市市场监督管理局" in text


def _pdf_page_image(pdf: bytes) -> Image.Image:
    """The page raster embedded in the PDF, decoded by pdfium (filters, predictor, palette applied)."""
    import pypdfium2 as pdfium

    doc = pdfium.PdfDocument(pdf)
    try:
        images = [o for o in doc[0].get_objects() if o.type == pdfium.raw.FPDF_PAGEOBJ_IMAGE]
        biggest = max(images, key=lambda o: o.get_metadata().width)
        return biggest.get_bitmap(render=False).to_pil().convert("RGB")
    finally:
        doc.close()


def test_pdf_carries_exactly_the_png_page():
    # The PDF embeds the PNG's own compressed rows (PNG predictors as PDF DecodeParms): a wrong predictor or
    # row length would shear the page while the separate QR image still decodes.
    args = (SNAP, "320600-B-2026-00018", "2026-11-22", "2029-11-21", URL)
    png, pdf = rendering.render_files(*args)
    page = Image.open(io.BytesIO(png))
    assert page.mode == "P" and round(page.info["dpi"][0]) == rendering.DPI
    embedded = _pdf_page_image(pdf)
    assert embedded.size == page.size
    assert ImageChops.difference(embedded, page.convert("RGB")).getbbox() is None


def test_page_colours_are_the_design_inks():
    img = Image.open(io.BytesIO(rendering.render_png(SNAP, "320600-B-2026-00019", "2026-11-22", "2029-11-21", URL)))
    rgb = img.convert("RGB")
    colours = {c for _n, c in rgb.getcolors(maxcolors=1024)}
    assert {rendering.RED, rendering.GREY, rendering.INK, rendering.BLACK, rendering.WHITE} <= colours
    # The outer border is solid red; the page corner and a spot in the middle of the margin are white.
    assert rgb.getpixel((rendering.mm(8), rendering.mm(100))) == rendering.RED
    assert rgb.getpixel((5, 5)) == rendering.WHITE
    # Anti-aliased edges: intermediate shades of each ink, not just the solid colours.
    assert len(colours) > 40


def test_cached_text_and_pages_never_leak_between_certificates():
    a = (dict(SNAP, holder_name="李强"), "320600-B-2026-00020", "2026-11-22", "2029-11-21", URL)
    b = (dict(SNAP, holder_name="张静"), "320600-B-2026-00021", "2026-11-23", "2029-11-22", URL.replace("Ab3_", "Zz9_"))
    first = rendering.render_png(*a)
    rendering.render_png(*b)
    rendering.render_pdf(*b)
    again = rendering.render_png(*a)
    rendering._stamp.cache_clear()
    rendering._template.cache_clear()
    rendering._qr_modules.cache_clear()
    rendering._last.clear()
    fresh = rendering.render_png(*a)
    assert first == again == fresh
    assert rendering.render_png(*b) != fresh
    assert rendering.decode_qr_from_pdf(rendering.render_pdf(*b)) == [b[4]]


def test_qr_is_error_correction_m_with_a_quiet_zone():
    import zxingcpp

    img = rendering.qr_image(URL, box_size=4)
    res = zxingcpp.read_barcodes(img.convert("L"))
    assert [r.text for r in res] == [URL]
    assert res[0].ec_level == "M"
    # four modules of white all round
    modules = rendering.qr_image(URL, box_size=1)
    w = modules.size[0]
    border = [modules.getpixel((x, y)) for x in range(w) for y in range(w) if min(x, y, w - 1 - x, w - 1 - y) < 4]
    assert set(border) == {255}


def test_long_body_text_wraps_within_the_column():
    f = rendering.font(rendering.mm(6.5))
    width = rendering.mm(150)
    text = "王芳 同志参加" + "2026年江苏省首席质量官基础培训" * 4 + "，完成全部培训课程并经考核合格，特发此证。"
    lines = rendering._wrapped(text, f, width)
    assert "".join(lines) == text and len(lines) > 2
    assert all(f.getlength(line, mode="L") <= width for line in lines)
    assert all(f.getlength(line + nxt[0], mode="L") > width for line, nxt in zip(lines, lines[1:]))


def test_render_pool_gives_the_same_files_in_order_at_a_lower_priority():
    import os

    certs = [dict(snapshot=dict(SNAP, holder_name=name), number=f"320600-B-2026-{i:05d}", issued_on="2026-11-22",
                  valid_until="2029-11-21", url=URL.replace("Ab3_", f"Q{i}x_")) for i, name in enumerate(["王芳", "李强", "张静"])]
    with rendering.RenderPool(processes=2, nice=5) as pool:
        got = pool.render(certs)
        assert pool.render([]) == []
        niceness = pool._pool.submit(os.nice, 0).result()
    assert niceness >= os.nice(0) + 5 or niceness == 19
    # The PNGs are byte for byte the in-process ones (the PDFs differ only in their creation time and ID).
    assert [png for png, _pdf in got] == [rendering.render_png(**c) for c in certs]
    assert [rendering.decode_qr_from_pdf(pdf) for _png, pdf in got] == [[c["url"]] for c in certs]


def test_png_reuses_the_template_bands_and_is_a_valid_stream():
    import zlib

    args = (dict(SNAP, holder_name="陈晨"), "320600-B-2026-00031", "2026-11-22", "2029-11-21", URL)
    page, qr_side, rows = rendering._compose(*args)
    h = page.size[1]
    assert 0 < rows[0] < rows[1] < h  # the title above and the margin below come from the cache
    png = rendering.render_png(*args)
    pos, chunks = 8, []
    while pos < len(png):  # every chunk's CRC
        n = int.from_bytes(png[pos:pos + 4], "big")
        kind, body = png[pos + 4:pos + 8], png[pos + 8:pos + 8 + n]
        assert int.from_bytes(png[pos + 8 + n:pos + 12 + n], "big") == zlib.crc32(kind + body)
        chunks.append(kind)
        pos += 12 + n
    assert chunks == [b"IHDR", b"pHYs", b"PLTE", b"IDAT", b"IEND"]
    _head, idat = rendering._png_parts(png)
    w = page.size[0]
    data = page.tobytes()
    expected = b"".join(b"\0" + data[i:i + w] for i in range(0, len(data), w))
    assert zlib.decompress(idat) == expected  # checks the combined Adler-32 too
    assert Image.open(io.BytesIO(png)).tobytes() == data


def test_adler32_combine_matches_zlib():
    import zlib

    for a, b in [(b"", b""), (b"abc", b""), (b"", b"xyz"), (b"\0" * 70000, b"\xff" * 131071), (bytes(range(256)) * 300, b"q")]:
        assert rendering.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


def test_render_pool_workers_start_warm():
    """Issue 20: each worker fills its caches as it starts (the fonts, the template, the text layer's font), so
    that the first certificates sent to it do not wait for that; nothing of the made-up page is kept."""
    with rendering.RenderPool(processes=1, nice=0) as pool:
        warm = pool._pool.submit(rendering.cache_sizes).result()
    with rendering.RenderPool(processes=1, nice=0, warm=False) as pool:
        cold = pool._pool.submit(rendering.cache_sizes).result()
    assert warm["template"] == 1 and warm["text_font"] == 1 and warm["stamps"] > 10 and warm["last_page"] == 0
    assert cold["template"] == 0 and cold["text_font"] == 0
