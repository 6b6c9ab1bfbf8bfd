"""A public notice (公示) as files: an Excel workbook (``lms.sheets``) and an A4 PDF (reportlab with its built-in
CJK font STSong-Light, which the reader's PDF viewer supplies: no font file to ship). Both hold exactly the lines
the public page lists (masked ID numbers)."""
from __future__ import annotations

import io
from typing import Iterable, Iterator
from xml.sax.saxutils import escape

from flask_babel import gettext as _

from lms import sheets
from talent.models import Notice, NoticeEntry

FONT = "STSong-Light"


def _header() -> list[str]:
    return [_("序号"), _("姓名"), _("身份证号"), _("所在企业"), _("地区"), _("层级"), _("证书编号")]


def _row(i: int, line: NoticeEntry) -> list:
    return [i, line.name, line.id_masked, line.enterprise_name, line.region_name,
            str(line.tier.label) if line.tier else "", line.certificate_numbers]


def notice_rows(notice: Notice, lines: Iterable[NoticeEntry]) -> Iterator[list]:
    """The notice's lines as rows for ``lms.sheets.stream`` (issue 20: streamed): the title and period first,
    then one row a person."""
    yield [notice.title]
    yield [_("发布日期 %(p)s，异议期至 %(u)s", p=notice.published_on, u=notice.objection_until)]
    yield _header()
    for i, line in enumerate(lines, 1):
        yield [sheets.Text(v) if isinstance(v, str) else v for v in _row(i, line)]


def notice_pdf(notice: Notice, lines: list[NoticeEntry]) -> bytes:
    """The notice on A4 pages: title, issuing bureau, period and contact, then the table, page numbers below."""
    # reportlab is imported when a PDF is asked for (it is slow to import and the rest of talent does not need it)
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import ParagraphStyle
    from reportlab.lib.units import mm
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    title = ParagraphStyle("t", fontName=FONT, fontSize=15, leading=20, alignment=1, wordWrap="CJK")
    body = ParagraphStyle("b", fontName=FONT, fontSize=9.5, leading=13, wordWrap="CJK")
    cell = ParagraphStyle("c", fontName=FONT, fontSize=8.5, leading=11, wordWrap="CJK")
    story = [Paragraph(escape(notice.title), title), Spacer(1, 4 * mm),
             Paragraph(escape(_("发布机关：%(r)s", r=notice.region.name)), body),
             Paragraph(escape(_("发布日期 %(p)s，异议期至 %(u)s", p=notice.published_on, u=notice.objection_until)), body)]
    if notice.contact:
        story.append(Paragraph(escape(_("异议受理：%(c)s", c=notice.contact)), body))
    story.append(Spacer(1, 4 * mm))
    data = [[Paragraph(escape(h), cell) for h in _header()]]
    data += [[Paragraph(escape(str(v)), cell) for v in _row(i, line)] for i, line in enumerate(lines, 1)]
    table = Table(data, colWidths=[10 * mm, 18 * mm, 36 * mm, 46 * mm, 20 * mm, 16 * mm, 34 * mm], repeatRows=1)
    table.setStyle(TableStyle([("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                               ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                               ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    story.append(table)
    buf = io.BytesIO()

    def footer(canvas, doc):
        canvas.setFont(FONT, 8)
        canvas.drawCentredString(A4[0] / 2, 10 * mm, _("第 %(n)d 页", n=doc.page))

    SimpleDocTemplate(buf, pagesize=A4, leftMargin=12 * mm, rightMargin=12 * mm, topMargin=15 * mm, bottomMargin=18 * mm,
                      title=notice.title).build(story, onFirstPage=footer, onLaterPages=footer)
    return buf.getvalue()
