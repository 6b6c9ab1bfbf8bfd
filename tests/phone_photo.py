"""A phone photo of a printed certificate, simulated: deterministic (seeded), Pillow and numpy only.

``photograph(page, page_dpi, profile, seed)`` takes the page as it is printed (a raster of the whole A4 sheet at
``page_dpi``) and returns what a phone hands its QR decoder: the sheet printed (dot gain, paper white, toner
black), lying a few degrees askew and seen in perspective, slightly out of focus, lit unevenly, with sensor
noise, at the phone's resolution, through JPEG. ``PROFILES`` holds the framings the tests use.

``certificate_page(url, module_mm, ec_level)`` is a minimal stand-in for the certificate page (issue 16 prep): white A4
landscape with the double border and dark text-like bars where ``certificates.rendering`` puts text, and the QR
code where ``rendering._qr_box`` puts it (28 mm from the right edge and 34 mm from the bottom, quiet zone
included), each module ``module_mm`` wide. Integration swaps in the real page: ``rendering.render_png`` (a
200-dpi palette PNG: pass ``page.convert("RGB")`` and ``page_dpi=200``) or the PDF page rasterised with
pypdfium2 (``pdf[0].render(scale=dpi / 72).to_pil()``).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

A4_LANDSCAPE_MM = (297.0, 210.0)
QR_RIGHT_MM, QR_BOTTOM_MM = 28.0, 34.0  # certificates.rendering._qr_box: the QR's box from the right and bottom
QUIET_ZONE = 4  # modules, as certificates.rendering.QR_QUIET_ZONE
PAGE_DPI = 400  # the stand-in page: twice rendering.DPI, so that its module sizes (whole 200-dpi dots) are exact


@dataclass(frozen=True)
class Profile:
    """How the photo is taken."""

    name: str
    frame: tuple[int, int]  # the image the decoder gets, pixels (landscape)
    page_fill: float  # the page's size as a fraction of the frame (of its width or height, whichever limits)
    max_rotation_deg: float = 4.0  # rotation drawn from ±this
    max_keystone: float = 0.04  # each corner moved by up to this fraction of the page's width (perspective)
    blur_px: float = 0.8  # Gaussian sigma in output pixels (focus, motion, lens)
    light_drop: float = 0.30  # darkest corner of the page relative to the brightest (uneven light, shadow)
    noise: float = 3.0  # sensor noise, standard deviation in 0-255 levels
    jpeg_quality: int = 80

    def pixels_per_mm(self) -> float:
        return self.page_fill * min(self.frame[0] / A4_LANDSCAPE_MM[0], self.frame[1] / A4_LANDSCAPE_MM[1])


PROFILES = {
    # The camera's full photo of the whole sheet: 12 MP (4000 × 3000), the page filling 90 % of it
    # (12.7 px/mm). What WeChat decodes when a photo is picked from the album ("从相册选取").
    "photo_12mp": Profile("photo_12mp", (4000, 3000), 0.90),
    # What WeChat's scanner decodes live: camera preview frames, about 1920 × 1080, the whole sheet in view
    # (4.6 px/mm): a verifier photographing the certificate on a desk or holding it at arm's length.
    "preview_1080p": Profile("preview_1080p", (1920, 1080), 0.90, blur_px=0.7),
    # The phone held upright, as WeChat's scanner is, the whole landscape sheet in a 1080 × 1920 preview frame
    # (3.3 px/mm): the hardest framing a verifier will plausibly use.
    "preview_portrait": Profile("preview_portrait", (1080, 1920), 0.90, blur_px=0.7),
    # The same preview, the phone brought closer, aimed at the QR code (about 9 px/mm).
    "preview_1080p_close": Profile("preview_1080p_close", (1920, 1080), 1.8, blur_px=0.9),
}


# ------------------------------------------------------------------ the page
def qr_matrix(text: str, ec_level: str = "M") -> np.ndarray:
    """The QR code's modules (True = dark), no quiet zone, encoded by zxing-cpp as certificates.rendering does
    (the encoder picks the mode: alphanumeric for an upper-case URL)."""
    import zxingcpp

    code = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.QRCode, ec_level=ec_level)
    img = np.asarray(code.to_image(scale=1, add_quiet_zones=False))
    return img < 128


def qr_version(matrix: np.ndarray) -> int:
    return (matrix.shape[0] - 17) // 4


def certificate_page(url: str, module_mm: float, ec_level: str = "M", dpi: int = PAGE_DPI, seed: int = 0) -> Image.Image:
    """A white A4 landscape page (RGB, ``dpi``) with the QR code of ``url`` at the certificate's position, each
    module ``module_mm`` wide (rounded to whole pixels at ``dpi``, as a printer driver would place them)."""
    rng = np.random.default_rng(seed)
    px = lambda v: round(v / 25.4 * dpi)  # noqa: E731
    w, h = px(A4_LANDSCAPE_MM[0]), px(A4_LANDSCAPE_MM[1])
    page = Image.new("RGB", (w, h), (255, 255, 255))
    d = ImageDraw.Draw(page)
    red, grey, ink = (160, 20, 20), (90, 90, 90), (20, 20, 20)
    d.rectangle([px(8), px(8), w - px(8), h - px(8)], outline=red, width=px(1.2))
    d.rectangle([px(11), px(11), w - px(11), h - px(11)], outline=red, width=px(0.4))
    d.rectangle([px(78), px(28), px(219), px(40)], fill=red)  # the title
    d.rectangle([px(90), px(46), px(207), px(50)], fill=grey)
    for i in range(2):  # the body sentence
        d.rectangle([px(28), px(60 + 10 * i), px(28 + rng.uniform(90, 165)), px(66 + 10 * i)], fill=ink)
    for i in range(8):  # labels and values
        y = px(92 + 8.5 * i)
        d.rectangle([px(28), y, px(50), y + px(4.6)], fill=grey)
        d.rectangle([px(56), y, px(56 + rng.uniform(25, 95)), y + px(4.6)], fill=ink)
    d.rectangle([w - px(28) - px(62), px(62), w - px(28), px(66.6)], fill=ink)  # 发证单位
    matrix = qr_matrix(url, ec_level)
    box = max(1, round(module_mm / 25.4 * dpi))
    n = matrix.shape[0] + 2 * QUIET_ZONE
    side = n * box
    qr = np.full((n, n), 255, np.uint8)
    qr[QUIET_ZONE:-QUIET_ZONE, QUIET_ZONE:-QUIET_ZONE] = np.where(matrix, 0, 255)
    qr_img = Image.fromarray(qr, "L").resize((side, side), Image.NEAREST).convert("RGB")
    qx, qy = w - px(QR_RIGHT_MM) - side, h - px(QR_BOTTOM_MM) - side
    page.paste(qr_img, (qx, qy))
    d.rectangle([qx + side // 2 - px(20), qy + side + px(2), qx + side // 2 + px(20), qy + side + px(5.6)], fill=grey)
    return page


# ------------------------------------------------------------------ the photo
def _homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """The 3×3 projective map taking the four points ``src`` to ``dst``."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows.append([x, y, 1, 0, 0, 0, -u * x, -u * y])
        rows.append([0, 0, 0, x, y, 1, -v * x, -v * y])
        rhs += [u, v]
    coeffs = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
    return np.append(coeffs, 1.0).reshape(3, 3)


def _print(page: Image.Image, px_per_mm: float) -> Image.Image:
    """Ink on paper (``page`` already at the camera's scale): toner spreads about 0.05 mm, paper is not quite
    white, toner not quite black."""
    printed = page.filter(ImageFilter.GaussianBlur(0.05 * px_per_mm))
    a = np.asarray(printed, np.float32)
    a = 22 + a * (246 - 22) / 255.0
    return Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGB")


def photograph(page: Image.Image, page_dpi: float, profile: Profile, seed: int = 0) -> Image.Image:
    """The phone's photo of ``page`` printed (an RGB image, decoded back from JPEG)."""
    rng = np.random.default_rng(seed)
    fw, fh = profile.frame
    # Shrink the page to about its size in the photo first (with a proper filter: the projective warp below
    # samples without one), print it at that scale, then warp.
    scale = profile.pixels_per_mm() * 25.4 / page_dpi
    target = (max(1, round(page.width * scale)), max(1, round(page.height * scale)))
    page = page.convert("RGB")
    if int(1 / scale) >= 2:  # a box filter by a whole factor first: the same anti-aliasing, far faster
        page = page.reduce(int(1 / scale))
    small = page.resize(target, Image.LANCZOS)
    small = _print(small, profile.pixels_per_mm())
    sw, sh = small.size
    # Where the page's corners land: centred on the QR's side when the page is wider than the frame, rotated,
    # each corner nudged (perspective).
    centre = np.array([fw / 2, fh / 2])
    if sw > fw or sh > fh:  # a close framing: aim at the QR code (its centre is near 85 %, 77 % of the page)
        aim = np.array([sw * 0.80, sh * 0.72])
    else:
        aim = np.array([sw / 2, sh / 2])
    corners = np.array([[0, 0], [sw, 0], [sw, sh], [0, sh]], float)
    theta = np.radians(rng.uniform(-profile.max_rotation_deg, profile.max_rotation_deg))
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]])
    placed = (corners - aim) @ rot.T + centre
    placed += rng.uniform(-profile.max_keystone, profile.max_keystone, (4, 2)) * sw
    placed += rng.uniform(-0.02, 0.02, 2) * np.array([fw, fh])  # not quite centred
    inv = _homography(placed, corners)  # output pixel -> page pixel (what Image.transform wants)
    background = tuple(int(v) for v in rng.integers(60, 110, 3))  # a desk
    frame = small.transform((fw, fh), Image.PERSPECTIVE, tuple((inv / inv[2, 2]).flatten()[:8]), Image.BICUBIC,
                            fillcolor=background)
    # Focus and motion.
    if profile.blur_px > 0:
        frame = frame.filter(ImageFilter.GaussianBlur(profile.blur_px))
    # Uneven light: a linear falloff in a random direction times a soft vignette, and a slight colour cast.
    a = np.asarray(frame, np.float32)
    x = (np.arange(fw, dtype=np.float32) / fw - 0.5)[None, :]
    y = (np.arange(fh, dtype=np.float32) / fh - 0.5)[:, None]
    direction = rng.uniform(0, 2 * np.pi)
    ramp = np.float32(np.cos(direction)) * x + np.float32(np.sin(direction)) * y + np.float32(0.5)
    light = (1.0 - profile.light_drop * np.clip(ramp, 0, 1)) * (1.0 - 0.25 * (x * x + y * y))
    cast = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 0.97)], np.float32)  # warm indoor light
    a *= light[..., None]
    a *= cast
    a += rng.standard_normal(a.shape, dtype=np.float32) * np.float32(profile.noise)
    photo = Image.fromarray(a.clip(0, 255).astype(np.uint8), "RGB")
    buf = io.BytesIO()
    photo.save(buf, "JPEG", quality=profile.jpeg_quality, subsampling=2)  # 4:2:0, as phones save
    buf.seek(0)
    out = Image.open(buf)
    out.load()
    return out
